"""Assignments: instructors bundle exercises with points, a pass mark and a due date; ``grade`` reads the reports."""
