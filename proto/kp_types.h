#ifndef KP_TYPES_H
#define KP_TYPES_H
#endif
