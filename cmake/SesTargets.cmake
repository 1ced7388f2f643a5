# One helper per kind of target, so each folder's CMakeLists.txt stays a few lines.

# Warnings that apply to project code only (not to third-party headers).
function(ses_project_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor)
  if(SES_SANITIZE)
    # GCC 12 reports false maybe-uninitialized warnings inside libstdc++
    # (std::regex, std::function) once sanitizers instrument the code.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()

# ses_add_plugin(NAME <name> SOURCES ... [LIBS ...] [OUTPUT_DIR dir])
# Builds plugin <name> as ses_<name>.so. Only ses_plugin_entry is exported.
function(ses_add_plugin)
  cmake_parse_arguments(P "" "NAME;OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  set(target ses_plugin_${P_NAME})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "ses_${P_NAME}"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${SES_PLUGIN_OUTPUT_DIR})
  endif()
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  target_link_libraries(${target} PRIVATE ses_plugin_sdk ${P_LIBS})
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/core/include/ses/plugin/plugin.map)
  # Sanitizer runtimes live in the executable, so only plain builds can insist
  # that a plugin resolves every symbol itself.
  if(NOT SES_SANITIZE AND NOT SES_FUZZ)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  ses_project_warnings(${target})
endfunction()

# ses_add_test(NAME <name> SOURCES ... [LIBS ...] [LABELS ...] [ENVIRONMENT VAR=VALUE])
# Tests of the core list ses_core_obj in LIBS; plugin unit tests need only the SDK.
function(ses_add_test)
  cmake_parse_arguments(T "" "NAME;ENVIRONMENT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE GTest::gtest GTest::gtest_main ${T_LIBS})
  target_compile_definitions(${T_NAME} PRIVATE
    SES_TEST_PLUGIN_DIR="${SES_PLUGIN_OUTPUT_DIR}"
    SES_TEST_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
    SES_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  ses_project_warnings(${T_NAME})
  if(T_ENVIRONMENT)
    gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES ENVIRONMENT "${T_ENVIRONMENT}")
  else()
    gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60)
  endif()
  # Labels are set by a script that CTest runs after the discovered tests are
  # defined: a list passed through gtest_discover_tests' PROPERTIES loses all
  # but its first element.
  if(T_LABELS)
    set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${T_NAME}_labels.cmake)
    file(WRITE ${labels_file}
      "if(${T_NAME}_TESTS)\n  set_tests_properties(\${${T_NAME}_TESTS} PROPERTIES LABELS \"${T_LABELS}\")\nendif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
  endif()
endfunction()

# ses_add_bench(NAME <name> SOURCES ... [LIBS ...])
function(ses_add_bench)
  cmake_parse_arguments(B "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${B_NAME} ${B_SOURCES})
  target_link_libraries(${B_NAME} PRIVATE ses_core_obj benchmark::benchmark ${B_LIBS})
  target_compile_definitions(${B_NAME} PRIVATE SES_TEST_PLUGIN_DIR="${SES_PLUGIN_OUTPUT_DIR}")
  ses_project_warnings(${B_NAME})
endfunction()
