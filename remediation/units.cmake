# Unit actions over sd-bus and unified diffs for remediation plans; included from remediation/CMakeLists.txt.
target_sources(plumb_remediation PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/unit_actions.cpp ${CMAKE_CURRENT_LIST_DIR}/src/diff.cpp)
target_link_libraries(plumb_remediation PUBLIC PkgConfig::SYSTEMD)
