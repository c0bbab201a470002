#include "core/reason.h"

namespace headroom {

const char* reason_name(Reason r) {
    switch (r) {
    case Reason::NotPost: return "not_post";
    case Reason::NotJson: return "not_json";
    case Reason::UnknownShape: return "unknown_shape";
    case Reason::UnknownEncoding: return "unknown_encoding";
    case Reason::TooLarge: return "too_large";
    case Reason::DecodedTooLarge: return "decoded_too_large";
    case Reason::DecodeError: return "decode_error";
    case Reason::Unbuffered: return "unbuffered";
    case Reason::BodyInFile: return "body_in_file";
    case Reason::Empty: return "empty";
    case Reason::InvalidJson: return "invalid_json";
    case Reason::TooDeep: return "too_deep";
    case Reason::LoneSurrogate: return "lone_surrogate";
    case Reason::NoChange: return "no_change";
    case Reason::NotSmaller: return "not_smaller";
    case Reason::NoMemory: return "no_memory";
    case Reason::OutOfMemory: return "out_of_memory";
    case Reason::InternalError: return "internal_error";
    }
    return "internal_error";
}

bool reason_is_failure(Reason r) {
    return r == Reason::NoMemory || r == Reason::OutOfMemory || r == Reason::InternalError;
}

}  // namespace headroom
