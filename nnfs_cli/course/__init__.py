"""The instructor side: nbgrader courses built from the catalog and graded at class scale.

One module per job: `build` (config and source notebooks), `batch` (grading a class on
Dask), `gradebook` (recording through nbgrader's API), `report` (the class's mistakes),
`export` (Gradescope), `kernel` (what nbgrader's test cells call), `tools` (nbgrader's
programs and settings); `views` is the only one that prints.
"""
