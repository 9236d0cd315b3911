// libkt.so: the kt.h functions come from ktune_lookup, linked whole; the
// version script (kt.map) exports them and nothing else.
#include "kt/kt.h"
