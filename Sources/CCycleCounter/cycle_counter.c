#include "cycle_counter.h"
