# Writes OUTPUT, a C++ file defining needlecheck::kb::BundledKnowledgeBaseText()
# with the bytes of INPUT. Bytes are written as a char array so that any
# content (quotes, backslashes, long files) embeds exactly.
file(READ ${INPUT} HEX HEX)
string(LENGTH "${HEX}" HEX_LEN)
math(EXPR SIZE "${HEX_LEN} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," BYTES "${HEX}")
string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){16})" "\\1\n" BYTES "${BYTES}")
file(WRITE ${OUTPUT}
"// Generated from ${INPUT}. Do not edit.\n"
"#include \"service/kb/knowledge_base.h\"\n\n"
"namespace needlecheck::kb {\n"
"namespace {\n"
"constexpr char kBundled[] = {\n${BYTES}'\\0'};\n"
"}  // namespace\n\n"
"absl::string_view BundledKnowledgeBaseText() {\n"
"  return absl::string_view(kBundled, ${SIZE});\n"
"}\n\n"
"}  // namespace needlecheck::kb\n")
