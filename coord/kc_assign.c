/* placeholder: being written */
typedef int kb_placeholder_t;
