// One extension module per instruction-set level (setup.py): the same operators, own object file.
#include "ops.cpp"
