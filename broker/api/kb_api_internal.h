#ifndef KB_API_INTERNAL_H
#define KB_API_INTERNAL_H
#endif
