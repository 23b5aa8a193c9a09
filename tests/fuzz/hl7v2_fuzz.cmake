# hl7v2_fuzz: the HL7 v2 foundation of needlecheck-hl7 (adapters/hl7v2: MLLP
# deframer, ER7 parser, ACK builder), which reads every byte an interface
# engine sends. Seeds: hand-written messages and MLLP streams in
# corpus/hl7v2_fuzz and the shared corpus's HL7 v2 messages.
if(TARGET needlecheck_hl7v2)
  needlecheck_fuzzer(hl7v2_fuzz
    SOURCES hl7v2_fuzz.cc
    SMOKE hl7v2_fuzz_smoke_test.cc
    LIBS needlecheck_hl7v2
    INSTRUMENT needlecheck_hl7v2
    SEEDS tests/fuzz/corpus/hl7v2_fuzz ../shared/corpus/hl7v2
    DICT hl7v2.dict
    MAX_LEN 16384
    DEFINITIONS
      NEEDLECHECK_HL7V2_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/corpus/hl7v2_fuzz"
      NEEDLECHECK_SHARED_DIR="${CMAKE_SOURCE_DIR}/../shared")
endif()
