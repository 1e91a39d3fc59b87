# The N-API addon (included by the root CMakeLists.txt only under cmake-js).
# cmake-js writes build/Release/sciqlop-cache.node, which node-gyp-build loads.

find_program(SCIQLOP_CACHE_NODE_EXECUTABLE NAMES node nodejs REQUIRED)
execute_process(
  COMMAND ${SCIQLOP_CACHE_NODE_EXECUTABLE} -p "require('node-addon-api').include_dir"
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE SCIQLOP_CACHE_NODE_ADDON_API_DIR
  OUTPUT_STRIP_TRAILING_WHITESPACE
  COMMAND_ERROR_IS_FATAL ANY)
# include_dir is relative to the working directory given above.
get_filename_component(SCIQLOP_CACHE_NODE_ADDON_API_DIR "${SCIQLOP_CACHE_NODE_ADDON_API_DIR}"
  ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})

file(GLOB SCIQLOP_CACHE_BINDING_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/binding/*.cpp)
add_library(sciqlop_cache_addon SHARED ${SCIQLOP_CACHE_BINDING_SOURCES} ${CMAKE_JS_SRC})
target_include_directories(sciqlop_cache_addon PRIVATE ${CMAKE_JS_INC} ${SCIQLOP_CACHE_NODE_ADDON_API_DIR})
target_compile_definitions(sciqlop_cache_addon PRIVATE
  NAPI_VERSION=8                              # in step with package.json "binary.napi_versions"
  NAPI_CPP_EXCEPTIONS                         # engine errors are C++ exceptions turned into JS errors
  NODE_ADDON_API_CPP_EXCEPTIONS_ALL           # safety net: any std::exception becomes a JS error
  NODE_ADDON_API_DISABLE_DEPRECATED
  NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED        # values are copied into ordinary Buffers (Electron)
  NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS)    # e.g. during environment teardown
target_link_libraries(sciqlop_cache_addon PRIVATE sciqlop_cache::sciqlop_cache ${CMAKE_JS_LIB})
set_target_properties(sciqlop_cache_addon PROPERTIES
  OUTPUT_NAME "sciqlop-cache"
  PREFIX ""
  SUFFIX ".node"
  CXX_EXTENSIONS OFF
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(sciqlop_cache_addon PRIVATE -Wall -Wextra)
endif()
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # Keep the bundled SQLite (and libstdc++ statics) private to the addon, so another SQLite
  # loaded in the same process (better-sqlite3, Electron's) can never be bound to ours; the
  # version script also hides the std:: template instances that -fvisibility=hidden leaves
  # visible (libstdc++ declares namespace std with default visibility). SQLite is renamed
  # besides (cmake/sqlite3_prefix.cmake), which also covers platforms without these flags.
  target_link_options(sciqlop_cache_addon PRIVATE -Wl,--exclude-libs,ALL -Wl,-Bsymbolic
    -Wl,--version-script=${CMAKE_CURRENT_SOURCE_DIR}/binding/addon.ldscript)
  set_property(TARGET sciqlop_cache_addon APPEND PROPERTY LINK_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/binding/addon.ldscript)
endif()
if(MSVC AND CMAKE_JS_NODELIB_DEF AND CMAKE_JS_NODELIB_TARGET)
  execute_process(COMMAND ${CMAKE_AR} /def:${CMAKE_JS_NODELIB_DEF} /out:${CMAKE_JS_NODELIB_TARGET} ${CMAKE_STATIC_LINKER_FLAGS})
endif()
