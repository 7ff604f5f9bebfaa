# Single entry point: `make test` builds .venv from pyproject.toml and runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo venv bench notebooks clean lab lab-student

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# The main job: release the assignment, autograde a small class, print the grades.
demo: $(STAMP)
	$(BIN)/nncourse demo

# JupyterLab on the course (prints the URL with its token): instructor view with the formgrader,
# or a student's copy of release/ in .cache/lab-student.  Extra options: LAB_ARGS="--port 9000".
lab: $(STAMP)
	$(BIN)/nncourse lab $(LAB_ARGS)

lab-student: $(STAMP)
	$(BIN)/nncourse lab --student $(LAB_ARGS)

# Regenerate source/nn_layers from course/notebooks + solutions, then release/ with nbgrader.
notebooks: $(STAMP)
	$(BIN)/python -m course.build
	$(BIN)/python -m course.release

bench: $(STAMP)
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .home artifacts submitted autograded/*/ feedback grading report gradebook.db grades_per_question.csv
