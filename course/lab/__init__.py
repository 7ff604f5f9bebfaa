"""JupyterLab on the course: the instructor's view (the formgrader) and a student's (Validate).

``server`` starts and drives the server (`nncourse lab`, the browser tests); ``hub`` runs the
course on a JupyterHub with system accounts (`nncourse hub`, with ``jupyterhub_config.py``);
``student/`` is the students' own nbgrader configuration (Validate reports failing visible tests
in Russian), deployed into a student's Jupyter config folder.
"""
