"""The course tool: builds the notebooks and drives nbgrader.  Never imported by solutions/."""
