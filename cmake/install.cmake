# Installation of the libraries other programs link (spawn::client for programs that drive
# spawnpoints, spawn::spawnable for services, and spawn::common, spawn::proto, spawn::bus under
# them), their public headers, and a CMake package so that an installed spawnpoint is used with
#   find_package(spawnpoint REQUIRED)
#   target_link_libraries(app PRIVATE spawn::client)      # or spawn::spawnable, for a service
# Included once from the top-level CMakeLists.txt, after every add_subdirectory(). All of it is in
# the install component "dev": `cmake --install <build> --component dev` installs only this.
include(CMakePackageConfigHelpers)

set(SPAWN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/spawnpoint")
set(_spawn_exported spawn_common spawn_proto spawn_bus spawn_client spawn_spawnable)

# Installed names match the in-tree aliases: spawn::common, spawn::proto, spawn::bus, spawn::client,
# spawn::spawnable.
set_target_properties(spawn_common PROPERTIES EXPORT_NAME common)
set_target_properties(spawn_proto PROPERTIES EXPORT_NAME proto)
set_target_properties(spawn_bus PROPERTIES EXPORT_NAME bus)
set_target_properties(spawn_client PROPERTIES EXPORT_NAME client)
set_target_properties(spawn_spawnable PROPERTIES EXPORT_NAME spawnable)

# (The targets' installed include directory is spawn_library's $<INSTALL_INTERFACE:...>.)
install(TARGETS ${_spawn_exported}
  EXPORT spawnpointTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)

# Only include/: the fakes' testing/ and common's in-tree internal/ stay out.
foreach(_spawn_component common proto bus spawnclient spawnable)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${_spawn_component}/include/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
    COMPONENT dev
    FILES_MATCHING PATTERN "*.h")
endforeach()

install(EXPORT spawnpointTargets
  NAMESPACE spawn::
  DESTINATION ${SPAWN_INSTALL_CMAKEDIR}
  COMPONENT dev)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/spawnpointConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/spawnpointConfig.cmake
  INSTALL_DESTINATION ${SPAWN_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/spawnpointConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/spawnpointConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/spawnpointConfigVersion.cmake
  DESTINATION ${SPAWN_INSTALL_CMAKEDIR}
  COMPONENT dev)
