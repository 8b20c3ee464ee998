#ifndef KP_HEADER_H
#define KP_HEADER_H
#endif
