#include "adapters/batch/run/audit_run.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "adapters/batch/export/bundle_splitter.h"
#include "adapters/batch/export/export_layout.h"
#include "adapters/batch/export/line_reader.h"
#include "adapters/batch/export/resource_route.h"
#include "adapters/batch/export/shard.h"
#include "adapters/batch/findings/finding_lines.h"
#include "adapters/batch/report/summary_json.h"
#include "adapters/batch/run/audit_outputs.h"
#include "adapters/batch/run/audit_scratch.h"
#include "adapters/batch/run/chunk_router.h"
#include "adapters/batch/run/findings_runs.h"
#include "adapters/common/json_members.h"
#include "adapters/common/json_writer.h"
#include "adapters/fhir/resource_fragment.h"
#include "common/files/atomic_file.h"
#include "simdjson.h"

namespace needlecheck::batch {
namespace {

namespace fs = std::filesystem;

constexpr char kStateDir[] = ".needlecheck-audit";
constexpr char kScratchFile[] = "scratch.sqlite3";
// The findings in patient-id order, before they become findings.ndjson.
constexpr char kFindingsPart[] = "findings.ndjson.part";
// The findings as audited: one frame per patient, in audit order
// (findings_runs.h).
constexpr char kFindingsFrames[] = "findings.frames";
// Left in the scratch folder, alone, by a run that failed (without
// --keep_scratch): the input fingerprint and nothing else, so --resume
// knows the audit and reads the export again.
constexpr char kRestartFile[] = "restart.json";
// Held (flock) by the run writing to an output folder.
constexpr char kLockFile[] = ".needlecheck-audit.lock";
// The resources_by_type key of resources whose resourceType is neither an
// R4 type nor the type their file's name gives.
constexpr char kOtherResourceType[] = "(other resourceType)";

// Closes a file descriptor when it goes out of scope.
struct FdCloser {
  int fd;
  ~FdCloser() { close(fd); }
};

struct FileCloser {
  void operator()(std::FILE* file) const {
    if (file != nullptr) std::fclose(file);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Whether the tool was asked to stop (AuditRunOptions::stop).
bool StopRequested(const AuditRunOptions& options) {
  return options.stop != nullptr &&
         options.stop->load(std::memory_order_relaxed);
}

absl::Status Stopped() {
  return absl::CancelledError("stopped on request (a signal) before the end");
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// What identifies the input of a run: a resumed run must see the same.
std::string InputFingerprint(const ExportLayout& layout,
                             const AuditRunOptions& options) {
  adapters::JsonWriter json;
  json.BeginObject();
  json.Key("files");
  json.BeginArray();
  for (const ExportFile& file : layout.files) {
    struct stat st {};
    int64_t mtime_ns = 0;
    if (stat(file.path.c_str(), &st) == 0) {
      mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                 st.st_mtim.tv_nsec;
    }
    json.BeginObject();
    json.Key("name");
    json.String(file.name);
    json.Key("bytes");
    json.Uint(file.size_bytes);
    json.Key("mtime_ns");
    json.Int(mtime_ns);
    json.EndObject();
  }
  json.EndArray();
  json.Key("shard");
  json.String(absl::StrCat(options.shard_index, "/", options.shard_count));
  json.EndObject();
  return std::move(json).Text();
}

absl::StatusOr<std::map<std::string, std::string>> SkippedWhileReading(
    AuditScratch& scratch) {
  absl::StatusOr<std::optional<std::string>> text =
      scratch.GetMeta("skipped_while_reading");
  if (!text.ok()) return text.status();
  std::map<std::string, std::string> skipped;
  if (text->has_value()) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object object;
    if (parser.parse(**text).get(root) != simdjson::SUCCESS ||
        root.get_object().get(object) != simdjson::SUCCESS) {
      return absl::DataLossError("scratch file: bad skipped-file list");
    }
    for (const adapters::JsonMember& member : adapters::UniqueMembers(object)) {
      std::string_view reason;
      if (member.value.get_string().get(reason) == simdjson::SUCCESS) {
        skipped[std::string(member.key)] = std::string(reason);
      }
    }
  }
  return skipped;
}

// Reads the export into the scratch file (phase 1).
class ExportIngest {
 public:
  ExportIngest(const AuditRunOptions& options, const ExportLayout& layout,
               AuditScratch& scratch, ProgressMeter& meter, std::FILE* log)
      : options_(options),
        layout_(layout),
        scratch_(scratch),
        meter_(meter),
        log_(log) {}

  absl::Status Run() {
    absl::StatusOr<std::vector<FileProgress>> files = scratch_.Files();
    if (!files.ok()) return files.status();
    double total = 0;
    for (const ExportFile& file : layout_.files) total += file.size_bytes;
    for (size_t i = 0; i < layout_.files.size(); ++i) {
      if ((*files)[i].complete) done_bytes_ += layout_.files[i].size_bytes;
    }
    meter_.StartPhase("reading", "MB", total / 1e6, done_bytes_ / 1e6);
    for (size_t i = 0; i < layout_.files.size(); ++i) {
      if ((*files)[i].complete) continue;
      if (StopRequested(options_)) return Stopped();
      const ExportFile& file = layout_.files[i];
      absl::Status status =
          file.kind == ExportFile::Kind::kNdjson
              ? IngestNdjson(static_cast<int>(i), file, (*files)[i])
              : IngestBundle(static_cast<int>(i), file, (*files)[i]);
      if (!status.ok()) return status;
      done_bytes_ += file.size_bytes;
    }
    meter_.FinishPhase(done_bytes_ / 1e6);
    if (logged_errors_ > options_.max_logged_errors) {
      absl::FPrintF(log_,
                    "needlecheck-audit: %d more input problems are listed "
                    "in %s\n",
                    logged_errors_ - options_.max_logged_errors, kErrorsFile);
    }
    return absl::OkStatus();
  }

 private:
  // Files found not to be FHIR while reading, kept in the scratch file
  // (meta "skipped_while_reading", a JSON object name -> reason).
  absl::Status RecordSkippedFile(const std::string& name,
                                 const std::string& reason) {
    absl::StatusOr<std::map<std::string, std::string>> skipped =
        SkippedWhileReading(scratch_);
    if (!skipped.ok()) return skipped.status();
    (*skipped)[name] = reason;
    adapters::JsonWriter json;
    json.BeginObject();
    for (const auto& [file, why] : *skipped) {
      json.Key(file);
      json.String(why);
    }
    json.EndObject();
    return scratch_.SetMeta("skipped_while_reading", std::move(json).Text());
  }

  // The key a resource is counted under in summary.json: its resourceType
  // when that is an R4 type or the type the file's name gives (e.g. an R5
  // type); anything else is a value from the input, which the reports must
  // not show (it could be a name), so it is counted as kOtherResourceType.
  const std::string& CountedType(int file, const std::string& type) const {
    if (IsR4ResourceType(type) || type == layout_.files[file].resource_type) {
      return type;
    }
    return other_type_;
  }

  bool InShard(absl::string_view key) const {
    return ShardOf(key, options_.shard_count) + 1 == options_.shard_index;
  }

  // Reports an input problem: errors.ndjson always; the log for the first
  // few (file name, line number and a message free of field values).
  absl::Status Problem(int file, int64_t line, std::string message) {
    if (++logged_errors_ <= options_.max_logged_errors) {
      absl::FPrintF(log_, "needlecheck-audit: %s:%d: %s (skipped)\n",
                    layout_.files[file].name, line, message);
    }
    return scratch_.AddError({file, line, std::move(message)});
  }

  // One resource (an NDJSON line or a bundle entry's resource), routed
  // with `route` (its error: a malformed line).
  // `map` writes the FHIR adapter's mapping of the routed resource (from
  // the routing parse) into its argument; only called for a resource kept.
  absl::Status Handle(int file, int64_t line,
                      absl::FunctionRef<void(std::string*)> map,
                      const absl::Status& route, const RouteResult& routed,
                      FileProgress& progress) {
    const bool has_patient = route.ok() && !routed.patient_id.empty();
    if (has_patient
            ? !InShard(routed.patient_id)
            : !InShard(absl::StrCat(layout_.files[file].name, ":", line))) {
      return absl::OkStatus();
    }
    ++progress.counts.lines;
    if (!route.ok()) {
      ++progress.counts.malformed;
      return Problem(file, line,
                     absl::StrCat("malformed line: ", route.message()));
    }
    ++type_delta_[CountedType(file, routed.resource_type)];
    if (!has_patient) {
      ++progress.counts.without_patient;
      return absl::OkStatus();
    }
    ++progress.counts.resources;
    map(&fragment_);
    return scratch_.AddResource(routed.patient_id, file, line, fragment_);
  }

  absl::Status Commit(int file, const FileProgress& progress) {
    if (absl::Status status = scratch_.SaveFile(file, progress); !status.ok()) {
      return status;
    }
    if (absl::Status status = scratch_.AddTypeCounts(type_delta_);
        !status.ok()) {
      return status;
    }
    type_delta_.clear();
    return scratch_.Commit();
  }

  absl::Status IngestNdjson(int file, const ExportFile& export_file,
                            FileProgress progress) {
    absl::StatusOr<std::unique_ptr<NdjsonLineReader>> reader =
        NdjsonLineReader::Open(export_file.path);
    if (!reader.ok()) return reader.status();
    if (progress.lines_done > 0) {
      absl::Status status =
          (*reader)->Resume({static_cast<uint64_t>(progress.byte_offset),
                             progress.lines_done + 1});
      if (!status.ok()) return status;
    }
    if (absl::Status status = scratch_.Begin(); !status.ok()) return status;
    int64_t since_commit = 0;
    absl::Time last_commit = absl::Now();
    NdjsonLine line;
    const auto keep = [this](const RouteResult& routed) {
      return !routed.patient_id.empty() && InShard(routed.patient_id);
    };
    bool at_end = false;
    while (!at_end) {
      // A chunk of lines (ending where a commit is due by count), routed
      // and mapped on both threads, then stored in line order.
      const size_t limit = static_cast<size_t>(std::clamp<int64_t>(
          options_.commit_lines - since_commit, 1, kChunkLines));
      chunk_.clear();
      // A chunk of very long lines does not keep its memory.
      if (texts_.capacity() > 2 * kChunkBytes) std::string().swap(texts_);
      texts_.clear();
      while (chunk_.size() < limit && texts_.size() < kChunkBytes) {
        absl::StatusOr<bool> more = (*reader)->Next(&line);
        ChunkLine& item = chunk_.emplace_back();
        item.number = line.number;
        if (!more.ok() && NdjsonLineReader::IsLineError(more.status())) {
          item.kind = ChunkLine::Kind::kLineError;
          item.problem = more.status();
        } else if (!more.ok()) {
          item.kind = ChunkLine::Kind::kBroken;
          item.number = (*reader)->line_number() + 1;
          item.problem = more.status();
          at_end = true;
          break;
        } else if (!*more) {
          chunk_.pop_back();
          at_end = true;
          break;
        } else {
          item.kind = ChunkLine::Kind::kLine;
          item.text_at = texts_.size();
          item.text_size = line.text.size();
          texts_.append(line.text.data(), line.text.size());
        }
      }
      // Every text has the padding RoutePadded reads after it: the texts
      // that follow it, then this.
      texts_.append(NdjsonLineReader::kPadding, ' ');
      routed_lines_.resize(chunk_.size());
      size_t routed = 0;
      for (const ChunkLine& item : chunk_) {
        if (item.kind != ChunkLine::Kind::kLine) continue;
        routed_lines_[routed++].text =
            absl::string_view(texts_.data() + item.text_at, item.text_size);
      }
      routed_lines_.resize(routed);
      chunk_router_.Route(routed_lines_, keep);
      routed = 0;
      for (const ChunkLine& item : chunk_) {
        if (item.kind == ChunkLine::Kind::kLineError) {
          if (InShard(absl::StrCat(export_file.name, ":", item.number))) {
            ++progress.counts.lines;
            ++progress.counts.malformed;
            if (absl::Status status = Problem(
                    file, item.number,
                    absl::StrCat("malformed line: ", item.problem.message()));
                !status.ok()) {
              return status;
            }
          }
        } else if (item.kind == ChunkLine::Kind::kBroken) {
          // A broken file (truncated gzip, read error): reported, counted
          // once, and the rest of the export is still audited.
          if (InShard(absl::StrCat(export_file.name, ":", item.number))) {
            ++progress.counts.malformed;
            if (absl::Status status = Problem(
                    file, item.number,
                    absl::StrCat("the rest of the file cannot be read: ",
                                 item.problem.message()));
                !status.ok()) {
              return status;
            }
          }
          break;
        } else {
          RoutedLine& done = routed_lines_[routed++];
          absl::Status status = Handle(
              file, item.number,
              [&done](std::string* out) { out->swap(done.fragment); },
              done.route, done.routed, progress);
          if (!status.ok()) return status;
        }
        ++since_commit;
        if (since_commit % 1024 == 0) {
          if (StopRequested(options_)) return Stopped();
          meter_.Update((done_bytes_ + (*reader)->file_bytes_consumed()) / 1e6);
        }
      }
      if (at_end) break;
      if (since_commit >= options_.commit_lines ||
          absl::Now() - last_commit > absl::Seconds(1)) {
        const LineCheckpoint checkpoint = (*reader)->checkpoint();
        progress.byte_offset = static_cast<int64_t>(checkpoint.offset);
        progress.lines_done = checkpoint.next_line - 1;
        if (absl::Status status = Commit(file, progress); !status.ok()) {
          return status;
        }
        if (absl::Status status = scratch_.Begin(); !status.ok()) return status;
        since_commit = 0;
        last_commit = absl::Now();
        meter_.Update((done_bytes_ + (*reader)->file_bytes_consumed()) / 1e6);
      }
    }
    progress.lines_done = (*reader)->line_number();
    progress.complete = true;
    return Commit(file, progress);
  }

  absl::Status IngestBundle(int file, const ExportFile& export_file,
                            FileProgress progress) {
    // A bundle is read whole and committed as one (one patient, usually).
    if (absl::Status status = scratch_.Begin(); !status.ok()) return status;
    absl::Status stored;  // the first error of ours, not the document's
    BundleOptions bundle_options;
    bundle_options.keep_json = false;  // entries are mapped, not stored
    absl::StatusOr<BundleStats> stats =
        SplitBundleFile(export_file.path, bundle_options,
                        [&](const BundleEntry& entry) -> absl::Status {
                          stored = Handle(
                              file, entry.index,
                              [&entry](std::string* out) {
                                fhir::MapResourceFragment(entry.resource, out);
                              },
                              entry.status, entry.route, progress);
                          return stored;
                        });
    if (!stored.ok()) return stored;
    if (absl::IsFailedPrecondition(stats.status())) {
      // Valid JSON that is not FHIR (a manifest, a report): a skipped file,
      // as the layout skips non-FHIR NDJSON files.
      if (absl::Status status = RecordSkippedFile(
              export_file.name,
              absl::StrCat("JSON that is not a FHIR resource or Bundle "
                           "(no resourceType)"));
          !status.ok()) {
        return status;
      }
    } else if (!stats.ok()) {
      // The document as a whole cannot be read (malformed, truncated,
      // too large): one problem, at entry 1.
      if (InShard(absl::StrCat(export_file.name, ":", 1))) {
        ++progress.counts.lines;
        ++progress.counts.malformed;
        if (absl::Status status = Problem(
                file, 1,
                absl::StrCat("unreadable bundle: ", stats.status().message()));
            !status.ok()) {
          return status;
        }
      }
    }
    progress.lines_done = stats.ok() ? stats->entries : 1;
    progress.complete = true;
    return Commit(file, progress);
  }

  const AuditRunOptions& options_;
  const ExportLayout& layout_;
  AuditScratch& scratch_;
  ProgressMeter& meter_;
  std::FILE* log_;
  std::map<std::string, int64_t> type_delta_;
  const std::string other_type_ = kOtherResourceType;
  // Lines are routed and mapped kChunkLines at a time, on both cores.
  // A chunk ends at kChunkLines lines or once its text reaches
  // kChunkBytes, so that long lines do not make it large.
  static constexpr int64_t kChunkLines = 512;
  static constexpr size_t kChunkBytes = size_t{4} << 20;
  struct ChunkLine {
    enum class Kind { kLine, kLineError, kBroken } kind = Kind::kLine;
    int64_t number = 0;
    absl::Status problem;  // kLineError, kBroken
    size_t text_at = 0;    // kLine: the text in texts_
    size_t text_size = 0;
  };
  std::vector<ChunkLine> chunk_;
  std::string texts_;
  std::vector<RoutedLine> routed_lines_;
  ChunkRouter chunk_router_{std::thread::hardware_concurrency() > 1 ? 2 : 1};
  std::string fragment_;  // the mapped resource being stored
  double done_bytes_ = 0;
  int logged_errors_ = 0;
};

// Audits the grouped patients (phase 3), appending to the part file.
absl::Status AuditGroupedPatients(
    const AuditRunOptions& options, AuditScratch& scratch,
    needlecheck::v1::ScreeningService::StubInterface& stub,
    const std::string& frames_path, ProgressMeter& meter, std::FILE* log) {
  absl::StatusOr<AuditProgress> loaded = scratch.LoadAuditProgress();
  if (!loaded.ok()) return loaded.status();
  AuditProgress progress = *loaded;
  // Drop whatever was appended after the last committed checkpoint.
  File part(std::fopen(frames_path.c_str(), "ab"));
  if (part == nullptr) return ErrnoError("cannot open", frames_path);
  if (ftruncate(fileno(part.get()), progress.findings_bytes) != 0) {
    return ErrnoError("cannot truncate", frames_path);
  }
  std::setvbuf(part.get(), nullptr, _IOFBF, 1 << 20);

  std::vector<InputError> pending_errors;
  absl::Time last_checkpoint = absl::Now();
  const auto checkpoint = [&]() -> absl::Status {
    if (std::fflush(part.get()) != 0 || fsync(fileno(part.get())) != 0) {
      return ErrnoError("cannot write", frames_path);
    }
    absl::Status status = scratch.SaveAuditProgress(progress, pending_errors);
    pending_errors.clear();
    last_checkpoint = absl::Now();
    return status;
  };
  // Progress counts resources: their total is known from the reading
  // phase, the patients' only once the last partition is grouped.
  absl::StatusOr<std::vector<FileProgress>> files = scratch.Files();
  if (!files.ok()) return files.status();
  int64_t total = 0;
  for (const FileProgress& file : *files) total += file.counts.resources;
  const auto done = [&] {
    return static_cast<double>(progress.resources_done);
  };
  meter.StartPhase("auditing", "resources", static_cast<double>(total), done());
  std::string lines;
  std::string frame;
  AuditStreamOptions stream_options = options.stream;
  stream_options.stop = options.stop;
  // Retries are always told, whatever the progress style: a run that
  // waits on needlecheckd must say why.
  stream_options.on_retry = [log](const std::string& message) {
    absl::FPrintF(log, "\nneedlecheck-audit: %s\n", message);
  };
  absl::Status status = AuditPatients(
      scratch, progress.after_patient, stub, stream_options,
      [&](AuditedPatient& patient) -> absl::Status {
        lines.clear();
        for (const needlecheck::v1::AuditFinding& finding : patient.findings) {
          absl::StrAppend(&lines, FindingToJsonLine(FindingFromProto(finding)),
                          "\n");
        }
        if (!lines.empty()) {
          frame.clear();
          AppendFindingsFrame(patient.patient_id, lines, &frame);
          if (std::fwrite(frame.data(), 1, frame.size(), part.get()) !=
              frame.size()) {
            return ErrnoError("cannot write", frames_path);
          }
          progress.findings_bytes += static_cast<int64_t>(frame.size());
        }
        if (patient.rejected) {
          ++progress.rejected_patients;
        } else {
          ++progress.patients_audited;
        }
        progress.rejected_resources += patient.rejected_resources;
        progress.resources_done += patient.resources;
        progress.after_patient = patient.patient_id;
        for (InputError& error : patient.errors) {
          pending_errors.push_back(std::move(error));
        }
        meter.Update(done());
        if (StopRequested(options)) return Stopped();
        if (absl::Now() - last_checkpoint >= options.checkpoint_interval) {
          return checkpoint();
        }
        return absl::OkStatus();
      });
  // Whatever happened, keep what was done (a resumed run goes on from it).
  absl::Status saved = checkpoint();
  if (!status.ok()) return status;
  if (!saved.ok()) return saved;
  meter.FinishPhase(done());
  return absl::OkStatus();
}

// Writes errors.ndjson from the scratch file.
absl::Status WriteErrors(AuditScratch& scratch, const ExportLayout& layout,
                         const std::string& path) {
  absl::StatusOr<files::AtomicFileWriter> out =
      files::AtomicFileWriter::Create(path);
  if (!out.ok()) return out.status();
  absl::Status status =
      scratch.ForEachError([&](const InputError& error) -> absl::Status {
        return out->Append(
            absl::StrCat(ErrorToJsonLine({layout.files[error.file].name,
                                          error.line, error.message}),
                         "\n"));
      });
  if (!status.ok()) return status;
  return out->Commit();
}

absl::Status RemoveOutputs(const std::string& out_dir) {
  std::error_code error;
  fs::remove_all(fs::path(out_dir) / kStateDir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot remove the previous audit's scratch folder: ",
                     error.message()));
  }
  for (const char* name : {kFindingsFile, kFindingsCsvFile, kSummaryFile,
                           kReportFile, kErrorsFile, kManifestFile}) {
    fs::remove(fs::path(out_dir) / name, error);
    fs::remove(fs::path(out_dir) / absl::StrCat(name, ".tmp"), error);
  }
  return absl::OkStatus();
}

// After a failed run without --keep_scratch: nothing with patient data
// stays. The scratch folder keeps only restart.json (the input fingerprint),
// written first, so that a kill half-way leaves a folder --resume starts
// over from; the output files a failed run may have begun go too.
void DiscardAfterFailure(const std::string& out_dir,
                         const std::string& fingerprint, std::FILE* log) {
  const fs::path state_dir = ScratchFolder(out_dir);
  adapters::JsonWriter restart;
  restart.BeginObject();
  restart.Key("input");
  restart.String(fingerprint);
  restart.EndObject();
  absl::Status marked = files::WriteFileAtomically(
      (state_dir / kRestartFile).string(), std::move(restart).Text());
  std::error_code error;
  bool removed = marked.ok();
  if (marked.ok()) {
    for (fs::directory_iterator it(state_dir, error), end; !error && it != end;
         it.increment(error)) {
      if (it->path().filename() == kRestartFile) continue;
      std::error_code remove_error;
      fs::remove_all(it->path(), remove_error);
      removed = removed && !remove_error;
    }
    removed = removed && !error;
  } else {
    // Without the marker the folder would look like nothing to resume:
    // take it all, so that --resume says there is nothing to continue.
    fs::remove_all(state_dir, error);
    removed = !error;
  }
  for (const char* name : {kFindingsFile, kFindingsCsvFile, kSummaryFile,
                           kReportFile, kErrorsFile}) {
    for (const std::string& file :
         {std::string(name), absl::StrCat(name, ".tmp")}) {
      std::error_code remove_error;
      fs::remove(fs::path(out_dir) / file, remove_error);
      removed = removed && !remove_error;
    }
  }
  if (!removed) {
    absl::FPrintF(log,
                  "needlecheck-audit: could not remove all of %s (it holds "
                  "patient data); remove it by hand\n",
                  state_dir.string());
    return;
  }
  absl::FPrintF(log,
                "needlecheck-audit: the scratch folder (patient data) is "
                "removed; --resume reads the export again (--keep_scratch "
                "keeps it, and --resume then goes on from the last "
                "checkpoint)\n");
}

// The input fingerprint a failed run left in restart.json; nullopt if there
// is no such file.
absl::StatusOr<std::optional<std::string>> RestartFingerprint(
    const std::string& state_dir) {
  const std::string path = (fs::path(state_dir) / kRestartFile).string();
  if (!fs::exists(path)) return std::optional<std::string>();
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  simdjson::dom::parser parser;
  std::optional<simdjson::dom::element> input;
  if (std::optional<simdjson::dom::object> object =
          adapters::ParseObject(parser, *text)) {
    input = adapters::LastMember(*object, "input");
  }
  std::string_view fingerprint;
  if (!input.has_value() ||
      input->get_string().get(fingerprint) != simdjson::SUCCESS) {
    return absl::DataLossError(absl::StrCat(
        path, " is damaged: pass --overwrite to start the audit over"));
  }
  return std::optional<std::string>(std::string(fingerprint));
}

// About how many bytes of resources the export holds (what the spill
// files will hold at most): compressed files count several times their
// size.
int64_t SpillEstimate(const ExportLayout& layout) {
  int64_t bytes = 0;
  for (const ExportFile& file : layout.files) {
    bytes += static_cast<int64_t>(file.size_bytes) * (file.gzip ? 8 : 1);
  }
  return bytes;
}

absl::Status InputDiffers() {
  return absl::FailedPreconditionError(
      "the export (its files, their sizes or times) or the shard differ "
      "from those of the audit being resumed: pass --overwrite to start "
      "over");
}

// Phases 1-4 (see audit_run.h) with the scratch file open and checked.
absl::StatusOr<AuditSummary> RunPhases(
    const AuditRunOptions& options, const ExportLayout& layout,
    const std::string& state_dir, AuditScratch& scratch,
    needlecheck::v1::ScreeningService::StubInterface& stub, std::FILE* log) {
  const std::string manifest_path =
      (fs::path(options.out_dir) / kManifestFile).string();
  ProgressMeter meter(log, options.progress, options.progress_interval);
  absl::StatusOr<std::optional<std::string>> grouped =
      scratch.GetMeta("grouped");
  if (!grouped.ok()) return grouped.status();
  if (!grouped->has_value()) {
    ExportIngest ingest(options, layout, scratch, meter, log);
    if (absl::Status status = ingest.Run(); !status.ok()) return status;
    if (StopRequested(options)) return Stopped();
    // Grouping happens while auditing, one spill partition at a time.
    if (absl::Status status = scratch.FinishIngest(); !status.ok()) {
      return status;
    }
  }

  const std::string part_path = (fs::path(state_dir) / kFindingsPart).string();
  const std::string frames_path =
      (fs::path(state_dir) / kFindingsFrames).string();
  const std::string findings_path =
      (fs::path(options.out_dir) / kFindingsFile).string();
  absl::StatusOr<std::optional<std::string>> audited =
      scratch.GetMeta("audited");
  if (!audited.ok()) return audited.status();
  if (!audited->has_value()) {
    if (absl::Status status = AuditGroupedPatients(options, scratch, stub,
                                                   frames_path, meter, log);
        !status.ok()) {
      return status;
    }
    if (absl::Status status = scratch.SetMeta("audited", "1"); !status.ok()) {
      return status;
    }
  }

  // Phase 4: the output folder.
  if (StopRequested(options)) return Stopped();
  meter.StartPhase("writing", "", 0);
  absl::StatusOr<AuditProgress> progress = scratch.LoadAuditProgress();
  if (!progress.ok()) return progress.status();
  // The findings in patient-id order (unless a killed run got that far).
  if (!fs::exists(part_path) && !fs::exists(findings_path)) {
    if (absl::Status status =
            MergeFindingsRuns(frames_path, progress->findings_bytes,
                              scratch.partitions(), part_path);
        !status.ok()) {
      return status;
    }
  }
  absl::StatusOr<std::vector<FileProgress>> files = scratch.Files();
  if (!files.ok()) return files.status();
  absl::StatusOr<std::map<std::string, int64_t>> types = scratch.TypeCounts();
  if (!types.ok()) return types.status();
  InputCounts input;
  for (const FileProgress& file : *files) input.files[file.name] = file.counts;
  input.skipped_files = layout.skipped;
  absl::StatusOr<std::map<std::string, std::string>> skipped_while_reading =
      SkippedWhileReading(scratch);
  if (!skipped_while_reading.ok()) return skipped_while_reading.status();
  for (const auto& [name, reason] : *skipped_while_reading) {
    input.skipped_files[name] = reason;
    input.files.erase(name);  // read, but nothing of it counted
  }
  input.resources_by_type = *types;
  input.rejected_resources = progress->rejected_resources;
  input.rejected_patients = progress->rejected_patients;
  input.patients_audited = progress->patients_audited;
  if (absl::Status status = WriteErrors(
          scratch, layout, (fs::path(options.out_dir) / kErrorsFile).string());
      !status.ok()) {
    return status;
  }
  // After a kill between the rename below and the removal of the scratch
  // folder, the findings are already in place.
  const std::string source = fs::exists(part_path) ? part_path : findings_path;
  absl::StatusOr<AuditSummary> summary =
      WriteReports(source, options.out_dir, std::move(input));
  if (!summary.ok()) return summary.status();
  if (source == part_path) {
    if (std::rename(part_path.c_str(), findings_path.c_str()) != 0) {
      return ErrnoError("cannot rename to", findings_path);
    }
    // The new name must survive a power loss before the run is marked
    // complete, as the atomic writer does for every other output.
    if (absl::Status status = files::SyncFolderOf(findings_path);
        !status.ok()) {
      return status;
    }
  }
  AuditManifest manifest;
  for (const ExportFile& file : layout.files) {
    manifest.files.push_back({file.name, file.size_bytes});
  }
  manifest.shard_index = options.shard_index;
  manifest.shard_count = options.shard_count;
  manifest.complete = true;
  if (absl::Status status =
          files::WriteFileAtomically(manifest_path, ManifestToJson(manifest));
      !status.ok()) {
    return status;
  }
  meter.FinishPhase(0);
  return summary;
}

}  // namespace

std::string ScratchFolder(const std::string& out_dir) {
  return (fs::path(out_dir) / kStateDir).string();
}

absl::StatusOr<AuditSummary> RunAudit(
    const AuditRunOptions& options,
    needlecheck::v1::ScreeningService::StubInterface& stub, std::FILE* log) {
  if (options.shard_count < 1 || options.shard_index < 1 ||
      options.shard_index > options.shard_count) {
    return absl::InvalidArgumentError("the shard must be k/n with 1 <= k <= n");
  }
  absl::StatusOr<ExportLayout> layout = ListExportFiles(options.export_dir);
  if (!layout.ok()) return layout.status();
  if (layout->files.empty()) {
    // Legitimate (an export of an empty group) but worth a word: a wrong
    // folder looks the same.
    absl::FPrintF(log,
                  "needlecheck-audit: warning: %s holds no FHIR resource "
                  "file (*.ndjson, *.ndjson.gz, *.json; %d other entries "
                  "skipped)\n",
                  options.export_dir, layout->skipped.size());
  }

  std::error_code error;
  fs::create_directories(options.out_dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", options.out_dir, ": ", error.message()));
  }
  // One run per output folder at a time: a second one would interleave
  // its findings with the first's. The lock goes with the process (a kill
  // releases it).
  const std::string lock_path =
      (fs::path(options.out_dir) / kLockFile).string();
  const int lock_fd =
      open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return ErrnoError("cannot create", lock_path);
  const FdCloser lock_closer{lock_fd};
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "another needlecheck-audit is writing to ", options.out_dir));
  }
  const std::string state_dir = ScratchFolder(options.out_dir);
  const std::string manifest_path =
      (fs::path(options.out_dir) / kManifestFile).string();
  const bool unfinished = fs::exists(state_dir);
  const bool finished = !unfinished && fs::exists(manifest_path);
  const std::string fingerprint = InputFingerprint(*layout, options);
  if (options.overwrite) {
    if (absl::Status status = RemoveOutputs(options.out_dir); !status.ok()) {
      return status;
    }
  } else if (options.resume) {
    if (finished) {
      absl::FPrintF(log,
                    "needlecheck-audit: the audit in %s is already complete\n",
                    options.out_dir);
      absl::StatusOr<std::string> summary =
          ReadSmallFile((fs::path(options.out_dir) / kSummaryFile).string());
      if (!summary.ok()) return summary.status();
      absl::StatusOr<InputCounts> input = InputCountsFromSummaryJson(*summary);
      if (!input.ok()) return input.status();
      return WriteReports((fs::path(options.out_dir) / kFindingsFile).string(),
                          options.out_dir, *std::move(input));
    }
    // No audit at all (a retried job's first attempt died before it made
    // the scratch folder, or this is the first attempt): start one, so
    // that a job's command can always pass --resume.
    if (!unfinished) {
      absl::FPrintF(log,
                    "needlecheck-audit: no audit in %s yet: starting one\n",
                    options.out_dir);
    }
    // A run that failed kept only its fingerprint: start over, with the
    // same input.
    absl::StatusOr<std::optional<std::string>> restart =
        RestartFingerprint(state_dir);
    if (!restart.ok()) return restart.status();
    if (restart->has_value()) {
      if (**restart != fingerprint) return InputDiffers();
      absl::FPrintF(log,
                    "needlecheck-audit: the failed audit in %s kept no "
                    "patient data: reading the export again\n",
                    options.out_dir);
      if (absl::Status status = RemoveOutputs(options.out_dir); !status.ok()) {
        return status;
      }
    }
  } else if (unfinished) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.out_dir,
                     " holds an unfinished audit: pass --resume to "
                     "continue it, or --overwrite to start over"));
  } else if (finished) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.out_dir,
                     " already holds an audit: pass "
                     "--overwrite to replace it"));
  }
  fs::create_directories(state_dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", state_dir, ": ", error.message()));
  }

  absl::StatusOr<std::unique_ptr<AuditScratch>> scratch = AuditScratch::Open(
      (fs::path(state_dir) / kScratchFile).string(), options.scratch_cache_mib);
  if (!scratch.ok()) return scratch.status();
  absl::StatusOr<std::optional<std::string>> recorded =
      (*scratch)->GetMeta("input");
  if (!recorded.ok()) return recorded.status();
  if (recorded->has_value() && **recorded != fingerprint) {
    return InputDiffers();
  }
  if (!recorded->has_value()) {
    if (absl::Status status = (*scratch)->SetMeta("input", fingerprint);
        !status.ok()) {
      return status;
    }
  }
  std::vector<std::string> names;
  for (const ExportFile& file : layout->files) names.push_back(file.name);
  // From here on the scratch file is this audit's: a failure exit removes
  // it (patient data) unless --keep_scratch.
  absl::StatusOr<AuditSummary> summary = [&]() -> absl::StatusOr<AuditSummary> {
    if (absl::Status status = (*scratch)->RegisterFiles(names); !status.ok()) {
      return status;
    }
    if (absl::Status status = (*scratch)->OpenSpill(SpillEstimate(*layout),
                                                    options.spill_partitions);
        !status.ok()) {
      return status;
    }
    return RunPhases(options, *layout, state_dir, **scratch, stub, log);
  }();
  scratch->reset();
  if (!summary.ok()) {
    if (!options.keep_scratch) {
      DiscardAfterFailure(options.out_dir, fingerprint, log);
    }
    return summary.status();
  }
  if (!options.keep_scratch) {
    fs::remove_all(state_dir, error);
    if (error) {
      absl::FPrintF(log,
                    "needlecheck-audit: could not remove %s (%s); remove it "
                    "by hand\n",
                    state_dir, error.message());
    }
  }
  return summary;
}

}  // namespace needlecheck::batch
