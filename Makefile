# Single entry point: `make test` builds .venv from pyproject.toml and runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo venv bench notebooks clean lab lab-student hub proxy chromium postgresql seccomp mutation

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP) chromium postgresql seccomp proxy
	$(BIN)/python -m pytest

# The jail's syscall filter is written by Debian's libseccomp2 (course/jail/syscalls.py).
seccomp:
	@if ! ldconfig -p | grep -q 'libseccomp\.so\.2'; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's libseccomp2 for the jail's syscall filter"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libseccomp2 >/dev/null; \
		else echo "the jail needs Debian's libseccomp2: sudo apt-get install libseccomp2" >&2; fi; \
	fi

# tests/test_postgres.py starts a throwaway server from Debian's postgresql.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's postgresql for the PostgreSQL gradebook test"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
		else echo "the PostgreSQL test needs Debian's postgresql: sudo apt-get install postgresql" >&2; fi; \
	fi

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
chromium:
	@if [ ! -e /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
		else echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; fi; \
	fi

# JupyterHub's configurable-http-proxy, from npm into .cache/node_modules (not global); Debian's npm if missing.
PROXY_VERSION := 5.3.0
PROXY := .cache/node_modules/.bin/configurable-http-proxy
proxy: $(PROXY)
$(PROXY):
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian's npm for JupyterHub's proxy"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; \
		else echo "JupyterHub's proxy comes from npm: sudo apt-get install npm" >&2; exit 1; fi; \
	fi
	npm install --prefix .cache --no-save --no-audit --no-fund --loglevel=error configurable-http-proxy@$(PROXY_VERSION)

# The main job: release the assignment, autograde a small class, print the grades.
demo: $(STAMP)
	$(BIN)/nncourse demo

# JupyterLab on the course (prints the URL with its token): instructor view with the formgrader,
# or a student's copy of release/ in .cache/lab-student.  Extra options: LAB_ARGS="--port 9000".
lab: $(STAMP)
	$(BIN)/nncourse lab $(LAB_ARGS)

lab-student: $(STAMP)
	$(BIN)/nncourse lab --student $(LAB_ARGS)

# JupyterHub for the course on 127.0.0.1:8000, as root (docs/real-course.md).  HUB_ARGS="--port 9000".
hub: $(STAMP) proxy
	$(BIN)/nncourse hub $(HUB_ARGS)

# Regenerate source/nn_layers from course/authoring/templates + solutions, then release/ with nbgrader.
notebooks: $(STAMP)
	$(BIN)/python -m course.authoring.build
	$(BIN)/python -m course.authoring.release

# Mutation testing of the hidden checks (docs/grading-accuracy.md): cosmic-ray mutates a copy of the reference,
# tests/mutation/oracle.py grades each mutant with the checks against the untouched reference, and the report
# prints the survival rate and every survivor.  About 20 minutes on 2 cores; not part of `make test`.
MUTATION := .cache/mutation
mutation: $(STAMP)
	rm -rf $(MUTATION) && mkdir -p $(MUTATION)/student
	cp solutions/[a-z]*.py $(MUTATION)/student/
	$(BIN)/cosmic-ray init tests/mutation/cosmic-ray.toml $(MUTATION)/session.sqlite
	$(BIN)/cosmic-ray exec tests/mutation/cosmic-ray.toml $(MUTATION)/session.sqlite
	$(BIN)/python -m tests.mutation.report $(MUTATION)/session.sqlite

bench: $(STAMP)
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .home artifacts submitted autograded/*/ feedback grading report gradebook.db grades_per_question.csv
