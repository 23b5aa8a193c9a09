# hl7v2_fuzz: the HL7 v2 code of needlecheck-hl7 that reads every byte an
# interface engine sends (adapters/hl7v2: MLLP deframer, ER7 parser, ACK
# builder, and the message mapping with the bundled knowledge base's
# session matcher). Seeds: hand-written messages and MLLP streams in
# corpus/hl7v2_fuzz, the dermatology messages in tests/testdata/hl7v2 and
# the shared corpus's HL7 v2 messages.
if(TARGET needlecheck_hl7v2 AND TARGET needlecheck_hl7v2_mapping)
  needlecheck_fuzzer(hl7v2_fuzz
    SOURCES hl7v2_fuzz.cc
    SMOKE hl7v2_fuzz_smoke_test.cc
    LIBS needlecheck_hl7v2 needlecheck_hl7v2_mapping needlecheck_kb needlecheck_utf8
    INSTRUMENT needlecheck_hl7v2 needlecheck_hl7v2_mapping
    SEEDS tests/fuzz/corpus/hl7v2_fuzz tests/testdata/hl7v2
          ../shared/corpus/hl7v2
    DICT hl7v2.dict
    MAX_LEN 16384
    DEFINITIONS
      NEEDLECHECK_HL7V2_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/corpus/hl7v2_fuzz"
      NEEDLECHECK_HL7V2_TESTDATA_DIR="${CMAKE_SOURCE_DIR}/tests/testdata/hl7v2"
      NEEDLECHECK_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
endif()
