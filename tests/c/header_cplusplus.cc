// The generated header also compiles as C++ (cbindgen's cpp_compat).
#include "jwtgate.h"

int main() {
    jwtgate_str name = jwtgate_code_name(JWTGATE_EXPIRED);
    jwtgate_verifier *verifier = nullptr;
    jwtgate_code rc = jwtgate_verifier_new("{}", 2, &verifier, nullptr);
    return name.len == 7 && rc == JWTGATE_POLICY && verifier == nullptr ? 0 : 1;
}
