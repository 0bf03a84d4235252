# How a component declares its library and its unit tests, so that every component's
# CMakeLists.txt says only what is its own.

# spawn_library(<component> SOURCES ... [PUBLIC libs...] [PRIVATE libs...])
#   Makes the static library spawn_<component>, its alias spawn::<component>, with the
#   component's include/ as its public header directory (installed headers keep the same
#   relative paths) and position-independent code (the libraries end up in shared objects too).
function(spawn_library component)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  set(target spawn_${component})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(spawn::${component} ALIAS ${target})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# spawn_testing_library(<component> SOURCES ... [PUBLIC libs...])
#   The component's test doubles (FakeBus, FakeDockerEngine) as spawn::<component>_testing, with
#   their headers under testing/: linked by tests and benchmarks, never installed.
function(spawn_testing_library component)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC" ${ARGN})
  set(target spawn_${component}_testing)
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(spawn::${component}_testing ALIAS ${target})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/testing)
  target_link_libraries(${target} PUBLIC spawn::${component} ${ARG_PUBLIC})
endfunction()

# spawn_unit_tests(<target> SOURCES ... LIBS ...): one gtest executable per component, labelled unit.
function(spawn_unit_tests target)
  if(NOT SPAWN_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${target} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()
