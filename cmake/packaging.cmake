# Packaging: install rules for what is not a build target (systemd units, example configs) and the
# CPack settings for a Debian package. Included from the top-level CMakeLists.txt after the
# components (their install(TARGETS) rules put spawnd and spawnctl in bin/):
#   include(cmake/packaging.cmake)
# then, in the build directory:  cpack -G DEB   ->  spawnpoint{,-dev}_<version>_<arch>.deb
# The package installs under /usr: /usr/bin/{spawnd,spawnctl}, /usr/lib/systemd/system/*.service,
# /usr/share/doc/spawnpoint/{README.md,examples/}. It does not write /etc/spawnd/spawnd.yml: copy
# and edit the example before `systemctl enable --now spawnd`.
include(GNUInstallDirs)

set(SPAWN_SYSTEMD_UNITS
  ${PROJECT_SOURCE_DIR}/systemd/spawnd.service
  ${PROJECT_SOURCE_DIR}/systemd/spawnd-container.service)
install(FILES ${SPAWN_SYSTEMD_UNITS} DESTINATION lib/systemd/system)

set(SPAWN_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/spawnpoint)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${SPAWN_DOC_DIR} OPTIONAL)
install(FILES ${PROJECT_SOURCE_DIR}/examples/spawnd.yml DESTINATION ${SPAWN_DOC_DIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/examples/demo/deploy.yml
              ${PROJECT_SOURCE_DIR}/examples/demo/params.yml
        DESTINATION ${SPAWN_DOC_DIR}/examples/demo)
if(TARGET spawnpoint-demo)
  install(TARGETS spawnpoint-demo RUNTIME DESTINATION ${SPAWN_DOC_DIR}/examples/demo)
endif()

# The units are checked by a unit test: systemd-analyze verify where it is installed, the keys
# spawnpoint relies on everywhere.
if(SPAWN_BUILD_TESTS)
  add_test(NAME systemd_units_verify
           COMMAND bash ${PROJECT_SOURCE_DIR}/systemd/verify-units.sh ${SPAWN_SYSTEMD_UNITS})
  set_tests_properties(systemd_units_verify PROPERTIES LABELS unit TIMEOUT 120)
  # The .debs made, installed with apt on a clean Debian 12 image, and used with find_package by a
  # client program and by a service that it runs against the broker on 127.0.0.1:1883.
  add_test(NAME package_test
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/test-package.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(package_test PROPERTIES LABELS integration RUN_SERIAL TRUE TIMEOUT 900)
endif()

# Two packages: spawnpoint (component runtime: spawnd, spawnctl, units, docs, the demo) and
# spawnpoint-dev (component dev: static libraries, headers, find_package files; see install.cmake).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME spawnpoint)
set(CPACK_PACKAGE_VENDOR "spawnpoint")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "deploys services in Docker containers, driven over MQTT (spawnd, spawnctl)")
set(CPACK_PACKAGE_DESCRIPTION
    "spawnd runs on each host and deploys, restarts and monitors services in Docker containers as \
told over an MQTT broker; spawnctl deploys, scans and tails them.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "spawnpoint maintainers <spawnpoint@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/SoftwareDefinedBuildings/spawnpoint")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME spawnpoint)
# The shared libraries' packages come from dpkg-shlibdeps, so they match what the binaries link.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# Only recommended: spawnd in a container (spawnd-container.service) reaches the host's engine
# through the mapped socket and needs no engine of its own.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "docker.io | docker-ce")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "mosquitto, mosquitto-clients")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME spawnpoint-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "spawnpoint's C++ libraries, the client (spawn::client) and the library for services \
(spawn::spawnable), with their headers and a CMake package")
# What spawnpointConfig.cmake finds with find_dependency().
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libpaho-mqttpp-dev (>= 1.2.0), libmsgpack-cxx-dev (>= 4), libyaml-cpp-dev, libspdlog-dev, \
nlohmann-json3-dev")
include(CPack)
