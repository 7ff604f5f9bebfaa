"""A mutation catalogue: realistic student bugs every grading check must reject.

Each case is (unit, buggy implementation, id).  ``check(unit, impl)`` must raise
CheckFailure, and the message must be readable: Russian, naming the graded
object, without an array dump.  Bugs the checks miss stay listed, marked
xfail(strict=True) with what goes unnoticed, so a fix shows up as an XPASS.
Cases with ids ``seed-*`` come from the seed student notebook.
"""
import re

import pytest
from students import TOPIC, correct, mutants, seed

from solutions.checks import UNITS, CheckFailure, check

# (unit, implementation, pytest id, xfail reason or None)
MUTANTS = [
    # --- the seed notebook's bugs ---
    ("batchnorm", seed.SeedBatchNormInvertedMomentum, "seed-batchnorm-inverted-momentum", None),
    ("batchnorm", seed.SeedBatchNormBiasedRunningVar, "seed-batchnorm-biased-running-var", None),
    ("batchnorm", seed.SeedBatchNormStaleEvalBackward, "seed-batchnorm-eval-backward-stale-batch-stats", None),
    ("batchnorm", seed.SeedBatchNormAssignedGrads, "seed-batchnorm-grads-assigned", None),
    ("batchnorm", seed.SeedBatchNormZeroGradRebinds, "seed-batchnorm-zero-grad-rebinds", None),
    ("batchnorm", seed.SeedBatchNormAsWritten, "seed-batchnorm-as-written", None),
    ("adam", seed.SeedAdam, "seed-adam-step-counter-per-parameter", None),
    ("tanh", seed.SeedTanh, "seed-tanh-clipped", None),
    ("sigmoid", seed.SeedSigmoid, "seed-sigmoid-naive-overflow", None),
    ("mse", seed.SeedMSELoss, "seed-mse-grad-over-batch-size", None),
    ("dataloader", seed.SeedDataLoader, "seed-dataloader-range-of-tuple", None),
    ("linear", seed.SeedLinearZeroGradRebinds, "seed-linear-zero-grad-rebinds", None),
    ("linear", seed.SeedLinear, "seed-linear-as-written-no-gradients", None),
    ("cross_entropy", seed.SeedCrossEntropyLoss, "seed-cross-entropy-log-eps", None),
    ("sequential", seed.SeedSequential, "seed-sequential-parameters-generator-of-lists", None),
    ("one_hot_encode", seed.seed_one_hot_encode, "seed-one-hot-labels-unchecked", None),
    # --- activations ---
    ("relu", mutants.ReLUGradOneAtZero, "relu-grad-one-at-zero", None),
    ("relu", mutants.ReLUInPlace, "relu-modifies-input-in-place", None),
    ("tanh", mutants.TanhGradFromInput, "tanh-grad-from-input", None),
    # --- Linear ---
    ("linear", mutants.LinearBiasGradMean, "linear-bias-grad-mean", None),
    ("linear", mutants.LinearBiasGradFirstRow, "linear-bias-grad-first-row", None),
    ("linear", mutants.LinearGradsOverwritten, "linear-grads-overwritten", None),
    ("linear", mutants.LinearXavierInit, "linear-xavier-init", None),
    ("linear", mutants.LinearTinyInit, "linear-init-0.01", None),
    # --- Sequential ---
    ("sequential", mutants.SequentialBackwardForwardOrder, "sequential-backward-forward-order", None),
    ("sequential", mutants.SequentialBackwardNotChained, "sequential-backward-not-chained", None),
    ("sequential", mutants.SequentialEvalNotPropagated, "sequential-eval-not-propagated", None),
    ("sequential", mutants.SequentialParametersCopies, "sequential-parameters-copies", None),
    ("sequential", mutants.SequentialParametersCopiesGenerator, "sequential-parameters-copies-generator", None),
    # --- Dropout ---
    ("dropout", mutants.DropoutNotRescaled, "dropout-not-rescaled", None),
    ("dropout", mutants.DropoutKeepProbability, "dropout-p-is-keep-probability", None),
    ("dropout", mutants.DropoutNewMaskInBackward, "dropout-new-mask-in-backward", None),
    ("dropout", mutants.DropoutDropsInEval, "dropout-drops-in-eval", None),
    # --- BatchNorm ---
    ("batchnorm", mutants.BatchNormUnbiasedNormalisation, "batchnorm-unbiased-normalisation", None),
    ("batchnorm", mutants.BatchNormStaleEvalStatsInitialised, "batchnorm-eval-backward-stale-stats-no-crash", None),
    ("batchnorm", mutants.BatchNormEvalBackwardBatchFormula, "batchnorm-eval-backward-batch-formula", None),
    ("batchnorm", mutants.BatchNormNoSingleSampleError, "batchnorm-no-error-on-single-sample", None),
    # --- optimizers ---
    ("sgd", mutants.SGDDampening, "sgd-momentum-dampening", None),
    ("sgd", mutants.SGDIgnoresMomentum, "sgd-ignores-momentum", None),
    ("adam", mutants.AdamNoBiasCorrection, "adam-no-bias-correction", None),
    ("adam", mutants.AdamEpsInsideSqrt, "adam-eps-inside-sqrt", None),
    # --- losses ---
    ("softmax", mutants.softmax_no_max_shift, "softmax-no-max-shift", None),
    ("softmax", mutants.softmax_over_columns, "softmax-over-batch-axis", None),
    ("one_hot_encode", mutants.one_hot_transposed, "one-hot-transposed", None),
    ("one_hot_encode", mutants.one_hot_off_by_one, "one-hot-off-by-one", None),
    ("cross_entropy", mutants.CrossEntropySummed, "cross-entropy-summed", None),
    ("mse", mutants.MSEGradWithoutFactorTwo, "mse-grad-without-factor-2", None),
    # --- training ---
    ("dataloader", mutants.DataLoaderAlwaysDropsLast, "dataloader-always-drops-last", None),
    ("dataloader", mutants.DataLoaderNeverReshuffles, "dataloader-never-reshuffles", None),
    ("dataloader", mutants.DataLoaderSeedIgnored, "dataloader-seed-ignored", None),
    ("dataloader", mutants.DataLoaderShufflesArraysSeparately, "dataloader-shuffles-arrays-separately", None),
    ("train_epoch", mutants.train_epoch_no_zero_grad, "train-epoch-no-zero-grad", None),
    ("train_epoch", mutants.train_epoch_no_train_mode, "train-epoch-no-model-train", None),
    ("train_epoch", correct.train_epoch_unweighted, "train-epoch-mean-of-batch-means", None),
    ("evaluate", mutants.evaluate_no_eval_mode, "evaluate-no-model-eval", None),
    ("evaluate", mutants.evaluate_percent, "evaluate-returns-percent", None),
    ("evaluate", mutants.evaluate_mean_of_batches, "evaluate-mean-of-batch-accuracies", None),
    # --- the training loop end to end: (train_epoch, evaluate) ---
    ("trains_digits", (mutants.train_epoch_no_zero_grad, correct.evaluate_collect), "digits-no-zero-grad", None),
    ("trains_digits", (mutants.train_epoch_no_step, correct.evaluate_collect), "digits-trains-nothing", None),
    ("trains_digits", (correct.train_epoch_weighted, mutants.evaluate_made_up), "digits-made-up-accuracy", None),
    ("trains_digits", (correct.train_epoch_weighted, mutants.evaluate_percent), "digits-accuracy-in-percent", None),
    ("trains_digits", (correct.train_epoch_weighted, mutants.evaluate_mean_of_batches),
     "digits-mean-of-batch-accuracies", None),
    # --- round two (issue 18), by class: what a visible test sees ---
    ("softmax", mutants.softmax_shifts_in_place, "softmax-shifts-x-in-place", None),
    ("one_hot_encode", mutants.one_hot_int_matrix, "one-hot-integer-matrix", None),
    ("cross_entropy", mutants.CrossEntropyReturnsArray, "cross-entropy-returns-array", None),
    ("cross_entropy", mutants.CrossEntropyAcceptsOneHot, "cross-entropy-accepts-one-hot-target", None),
    ("mse", mutants.MSEBroadcasts, "mse-broadcasts-mismatched-shapes", None),
    ("sequential", mutants.SequentialParametersTuple, "sequential-parameters-tuple", None),
    # side effects
    ("linear", mutants.LinearScalesGradInPlace, "linear-clips-grad-output-in-place", None),
    ("sigmoid", mutants.SigmoidBackwardSpoilsOutput, "sigmoid-backward-spoils-returned-output", None),
    ("tanh", mutants.TanhBackwardSquaresCache, "tanh-backward-squares-cache", None),
    ("dropout", mutants.DropoutMasksInPlace, "dropout-masks-x-in-place", None),
    ("batchnorm", mutants.BatchNormCentresInPlace, "batchnorm-centres-x-in-place", None),
    ("cross_entropy", mutants.CrossEntropyBackwardInPlace, "cross-entropy-backward-spoils-cache", None),
    # dtype
    ("relu", mutants.ReLUFloat64, "relu-float32-to-float64", None),
    ("sigmoid", mutants.SigmoidFloat32, "sigmoid-float64-to-float32", None),
    ("tanh", mutants.TanhFloat32, "tanh-float64-to-float32", None),
    ("dropout", mutants.DropoutFloat64Mask, "dropout-float64-mask", None),
    ("batchnorm", mutants.BatchNormFloat64, "batchnorm-float32-to-float64", None),
    # references held by the caller
    ("linear", mutants.LinearGradsRebound, "linear-grads-rebound-in-backward", None),
    ("batchnorm", mutants.BatchNormGradsRebound, "batchnorm-grads-rebound-in-backward", None),
    # optimizers over time
    ("sgd", mutants.SGDLearningRateCopied, "sgd-learning-rate-copied-at-construction", None),
    ("sgd", mutants.SGDSkipsZeroGradients, "sgd-skips-all-zero-gradients", None),
    ("sgd", mutants.SGDVelocityWithLearningRate, "sgd-velocity-holds-learning-rate", None),
    ("adam", mutants.AdamLearningRateCopied, "adam-learning-rate-copied-at-construction", None),
    ("adam", mutants.AdamScalesGradientInPlace, "adam-squares-gradient-in-place", None),
    # DataLoader and the training loop at the edges
    ("dataloader", mutants.DataLoaderExtraEmptyBatch, "dataloader-empty-batch-when-divisible", None),
    ("dataloader", mutants.DataLoaderIteratorIsSelf, "dataloader-iterator-is-self", None),
    ("train_epoch", mutants.train_epoch_zero_grad_after_step, "train-epoch-zero-grad-after-step", None),
    ("train_epoch", mutants.train_epoch_divides_by_batches, "train-epoch-divides-by-full-batches", None),
]

# Every bug of the seed notebook the catalogue must keep.
SEED_BUGS = {
    "seed-batchnorm-inverted-momentum", "seed-batchnorm-biased-running-var",
    "seed-batchnorm-eval-backward-stale-batch-stats", "seed-batchnorm-grads-assigned",
    "seed-adam-step-counter-per-parameter", "seed-tanh-clipped", "seed-mse-grad-over-batch-size",
    "seed-dataloader-range-of-tuple", "seed-linear-zero-grad-rebinds", "seed-cross-entropy-log-eps",
}
CYRILLIC = re.compile("[А-Яа-яЁё]")
MAX_MESSAGE = 600  # a short sentence or two; longer means something got dumped into it


def _param(unit, impl, case_id, reason):
    marks = [getattr(pytest.mark, TOPIC[unit])]
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(unit, impl, marks=marks, id=case_id)


@pytest.mark.parametrize(("unit", "impl"), [_param(*case) for case in MUTANTS])
def test_check_rejects_mutant(unit, impl):
    with pytest.raises(CheckFailure) as failure:
        check(unit, impl)
    message = str(failure.value)
    assert message.strip(), "empty message"
    assert CYRILLIC.search(message), f"not Russian: {message}"
    assert UNITS[unit].title in message, f"does not name {UNITS[unit].title}: {message}"
    assert "[[" not in message, f"array dump: {message}"
    assert len(message) <= MAX_MESSAGE, f"{len(message)} characters: {message}"


def test_catalogue_is_large_and_covers_every_unit():
    assert set(TOPIC) == set(UNITS)
    assert len(MUTANTS) >= 30
    assert {unit for unit, *_ in MUTANTS} == set(UNITS)
    ids = [case_id for _, _, case_id, _ in MUTANTS]
    assert len(ids) == len(set(ids))
    assert SEED_BUGS <= set(ids)
    for unit, impl, case_id, _ in MUTANTS:
        pairs = zip(impl, UNITS[unit].reference) if UNITS[unit].arity > 1 else [(impl, UNITS[unit].reference)]
        for obj, reference in pairs:
            assert obj is not reference and not (isinstance(obj, type) and issubclass(obj, reference)), case_id
