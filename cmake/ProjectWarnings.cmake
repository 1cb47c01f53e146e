# Strict warnings for the project's own code (generated protobuf code is exempt).
function(messaging_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                                           -Wunused -Woverloaded-virtual -Wnull-dereference
                                           -Wimplicit-fallthrough)
endfunction()
