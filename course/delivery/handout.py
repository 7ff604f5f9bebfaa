"""`nncourse release --zip`: the release folder as students get it, as one zip with its SHA-256.

The zip holds ``<assignment>/`` exactly as ``release/<assignment>/`` is (the notebooks, ``nn_helpers.py``,
the students' Validate configuration and their README: course.authoring.apps.generate_release), in
sorted order with a fixed date, so the same release always gives the same archive and checksum.
"""
import hashlib
import zipfile
from pathlib import Path

from ..jail import safefiles
from ..settings import CourseError, load

FIXED_DATE = (2020, 1, 1, 0, 0, 0)  # any fixed date: the checksum then depends on the content alone


def write_zip(course):
    """``<course>/<assignment>.zip`` and ``<assignment>.zip.sha256`` (``sha256sum -c`` reads it); (zip, digest)."""
    course = Path(course)
    assignment = load(course).assignment
    release = course / "release" / assignment
    if not release.is_dir():
        raise CourseError(f"no {release.relative_to(course)}: run `nncourse release` first")
    files = safefiles.read_tree(release)
    target = course / f"{assignment}.zip"
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative, data in sorted(files.items()):
            info = zipfile.ZipInfo(f"{assignment}/{relative}", FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    partial.replace(target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    target.with_name(target.name + ".sha256").write_text(f"{digest}  {target.name}\n")
    return target, digest
