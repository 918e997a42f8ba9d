"""A hospital that sends realistic ADT traffic over MLLP, for the demo and for load tests."""
