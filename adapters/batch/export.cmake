# needlecheck_batch_export: reading a FHIR Bulk Data export folder (or a
# folder of bundles) for needlecheck-audit. Folder layout
# (export_layout.h), plain and gzip NDJSON lines (line_reader.h), routing a
# resource to its patient (resource_route.h), bundles split into routed
# resources (bundle_splitter.h), --shard K/N (shard.h). Faces untrusted
# bytes: fuzzed by tests/fuzz/resource_route_fuzz.cc. No sockets, threads
# or clock; depends on simdjson, zlib and Abseil only.
add_library(needlecheck_batch_export
  bundle_splitter.cc
  export_layout.cc
  line_reader.cc
  internal/gzip_file.cc
  resource_route.cc
  shard.cc)
target_link_libraries(needlecheck_batch_export
  PUBLIC absl::status absl::statusor absl::strings absl::flat_hash_map
         absl::function_ref
  PRIVATE needlecheck_adapters_common simdjson::simdjson ZLIB::ZLIB)
