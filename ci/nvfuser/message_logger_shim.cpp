// message_logger_shim.cpp - the one c10 symbol the nvFuser wheel built for
// torch 2.10 needs and torch 2.11 no longer has.
//
// torch 2.10:  c10::MessageLogger::MessageLogger(const char* file, int line, int severity, bool exit_on_fatal)
// torch 2.11:  c10::MessageLogger::MessageLogger(c10::SourceLocation loc, int severity, bool exit_on_fatal)
//
// This library, preloaded (LD_PRELOAD), defines the old constructor and
// forwards to the new one, passing {function, file, line} by value. It is
// built with nothing but the declarations below (no torch headers, no
// link to libc10): the new constructor is found with dlsym in the libc10
// already loaded, so it works however torch opened its libraries.
#include <dlfcn.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace c10 {

struct SourceLocation {  // c10/util/Exception.h of torch 2.11: three fields, in this order
    const char* function;
    const char* file;
    uint32_t line;
};

class MessageLogger {
   public:
    MessageLogger(const char* file, int line, int severity, bool exit_on_fatal);
};

using NewCtor = void (*)(MessageLogger*, SourceLocation, int, bool);

static NewCtor new_ctor()
{
    static NewCtor fn = nullptr;
    if (fn == nullptr) {
        // c10::MessageLogger::MessageLogger(c10::SourceLocation, int, bool), complete object
        fn = reinterpret_cast<NewCtor>(dlsym(RTLD_DEFAULT, "_ZN3c1013MessageLoggerC1ENS_14SourceLocationEib"));
        if (fn == nullptr) {
            void* h = dlopen("libc10.so", RTLD_NOW | RTLD_NOLOAD);
            if (h != nullptr)
                fn = reinterpret_cast<NewCtor>(dlsym(h, "_ZN3c1013MessageLoggerC1ENS_14SourceLocationEib"));
        }
        if (fn == nullptr) {
            std::fprintf(stderr, "message_logger_shim: c10::MessageLogger(SourceLocation, int, bool) not found: %s\n",
                         dlerror());
            std::abort();
        }
    }
    return fn;
}

MessageLogger::MessageLogger(const char* file, int line, int severity, bool exit_on_fatal)
{
    new_ctor()(this, SourceLocation{"", file, static_cast<uint32_t>(line)}, severity, exit_on_fatal);
}

}  // namespace c10
