"""Instructor-side tools: reference solutions, releases, grading. Never shipped to students."""
