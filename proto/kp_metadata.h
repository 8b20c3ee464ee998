#ifndef KP_METADATA_H
#define KP_METADATA_H
#endif
