"""Fixtures shared by the test tiers: temporary courses, submissions, grading runs."""
