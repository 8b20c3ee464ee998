#ifndef KP_BUF_H
#define KP_BUF_H
#endif
