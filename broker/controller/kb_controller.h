#ifndef KB_CONTROLLER_H
#define KB_CONTROLLER_H
#endif
