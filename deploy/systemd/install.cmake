# Install-time part of `cmake --install` and of the Debian package (run through install(SCRIPT)):
# where the unit and the environment file go depends on the prefix, known only now. Prefix /usr
# (the package) puts them where Debian keeps them, /etc and /lib/systemd/system; any other prefix
# keeps everything under it (systemd also reads /usr/local/lib/systemd/system). The unit names the
# binary and the environment file by their installed paths.
# In: TASKMAN_SOURCE_DIR, TASKMAN_BINARY_DIR, TASKMAN_INSTALL_BINDIR (relative to the prefix).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_taskman_etc /etc)
  set(_taskman_unit_dir /lib/systemd/system)
else()
  set(_taskman_etc ${CMAKE_INSTALL_PREFIX}/etc)
  set(_taskman_unit_dir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(TASKMAN_BINDIR ${CMAKE_INSTALL_PREFIX}/${TASKMAN_INSTALL_BINDIR})
set(TASKMAN_ENV_FILE ${_taskman_etc}/taskman/taskman.env)

# One configured copy per prefix: cpack and a `cmake --install --prefix` may run at the same time.
string(MD5 _taskman_prefix_hash "${CMAKE_INSTALL_PREFIX}")
set(_taskman_unit ${TASKMAN_BINARY_DIR}/install-units/${_taskman_prefix_hash}/taskman.service)
configure_file(${TASKMAN_SOURCE_DIR}/deploy/systemd/taskman.service.in ${_taskman_unit} @ONLY)

file(INSTALL DESTINATION ${_taskman_unit_dir} TYPE FILE FILES ${_taskman_unit})
# Root-only: the file is where tokens (MCP_AUTH_TOKENS, API_KEYS) go; systemd reads it as root.
file(INSTALL DESTINATION ${_taskman_etc}/taskman TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE
     FILES ${TASKMAN_SOURCE_DIR}/deploy/env/taskman.env)
