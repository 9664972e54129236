"""The course pipeline around nbgrader: release, collect, grade, feedback, and nbgrader plugins.

submissions (find, check and stage what students handed in), config (the course's nbgrader
config and API), pipeline (autograde, feedback and grades for a class), report (grades.csv and
the summary), normalize / execute / feedback (nbgrader preprocessors), and the command lines
grade, release and collect.
"""
