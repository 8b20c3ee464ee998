#ifndef KP_APIVERSIONS_H
#define KP_APIVERSIONS_H
#endif
