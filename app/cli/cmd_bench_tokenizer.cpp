// olm bench tokenizer: encode / decode throughput (MB/s of UTF-8 input) on
// English prose, one thread. Compare with tests/tools/bench_reference.mjs
// (the reference library) on the same text.
#include "app/cli/args.h"
#include "app/cli/bench.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Process CPU seconds: on a shared machine this, not wall time, is the one-core cost.
double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

// Paragraphs (blank-line separated), as an evaluation dataset feeds them.
std::vector<std::string> paragraphs(const std::string& text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find("\n\n", pos);
        if (end == std::string::npos) end = text.size();
        if (end > pos) out.push_back(text.substr(pos, end - pos));
        pos = end + 2;
    }
    return out;
}

#define OLM_LICENSES "/usr/share/common-licenses/"
const char* kDefaultText =
    OLM_LICENSES "GPL-1," OLM_LICENSES "GPL-2," OLM_LICENSES "GPL-3," OLM_LICENSES "LGPL-2," OLM_LICENSES
                 "LGPL-2.1," OLM_LICENSES "LGPL-3," OLM_LICENSES "GFDL-1.2," OLM_LICENSES
                 "GFDL-1.3," OLM_LICENSES "Apache-2.0," OLM_LICENSES "Artistic," OLM_LICENSES
                 "MPL-1.1," OLM_LICENSES "MPL-2.0," OLM_LICENSES "CC0-1.0," OLM_LICENSES "BSD";
#undef OLM_LICENSES

}  // namespace

OLM_BENCHMARK("tokenizer", "tokenizer encode/decode MB/s on English prose (one thread)",
              "MODEL_DIR [--text FILE] [--min-seconds S]\n"
              "  MODEL_DIR      folder with tokenizer.json\n"
              "  --text FILES   comma-separated UTF-8 text files, concatenated and split into\n"
              "                 paragraphs at blank lines (default: the English licence texts\n"
              "                 every Debian system has in /usr/share/common-licenses, ~270 kB)\n"
              "  --min-seconds  time each measurement for at least S seconds (default 2)",
              [](const std::vector<std::string>& argv) -> int {
                  olm::cli::Args args(argv, {"text", "min-seconds"}, {});
                  if (args.positional().empty()) throw olm::Error("bench tokenizer: MODEL_DIR missing");
                  std::string path = args.value_or("text", kDefaultText);
                  double min_s = args.double_or("min-seconds", 2.0);
                  std::stringstream ss;
                  size_t start = 0;
                  while (start <= path.size()) {
                      size_t comma = path.find(',', start);
                      if (comma == std::string::npos) comma = path.size();
                      std::string file = path.substr(start, comma - start);
                      std::ifstream in(file, std::ios::binary);
                      if (!in) throw olm::Error("cannot read " + file);
                      ss << in.rdbuf() << "\n\n";
                      start = comma + 1;
                  }
                  auto paras = paragraphs(ss.str());
                  size_t bytes = 0;
                  for (const auto& p : paras) bytes += p.size();

                  auto t0 = Clock::now();
                  auto tok = olm::Tokenizer::from_folder(args.positional()[0]);
                  double load_s = since(t0);

                  size_t tokens = 0;
                  std::vector<std::vector<int32_t>> encoded(paras.size());
                  t0 = Clock::now();  // first pass: empty word cache
                  double c0 = cpu_now();
                  for (size_t i = 0; i < paras.size(); ++i) encoded[i] = tok.encode(paras[i], false);
                  double cold_s = since(t0), cold_cpu = cpu_now() - c0;
                  for (const auto& e : encoded) tokens += e.size();

                  int passes = 0;
                  t0 = Clock::now();
                  c0 = cpu_now();
                  do {
                      for (const auto& p : paras) encoded[0] = tok.encode(p, false);
                      ++passes;
                  } while (since(t0) < min_s);
                  double warm_s = since(t0) / passes, warm_cpu = (cpu_now() - c0) / passes;
                  for (size_t i = 0; i < paras.size(); ++i) encoded[i] = tok.encode(paras[i], false);

                  int dpasses = 0;
                  size_t out_bytes = 0;
                  t0 = Clock::now();
                  c0 = cpu_now();
                  do {
                      for (const auto& e : encoded) out_bytes += tok.decode(e, false).size();
                      ++dpasses;
                  } while (since(t0) < min_s);
                  double dec_s = since(t0) / dpasses, dec_cpu = (cpu_now() - c0) / dpasses;

                  const double mb = bytes / 1e6;
                  std::printf("text: %s\n  (%zu paragraphs, %.3f MB, %zu tokens, %.2f bytes/token)\n",
                              path.c_str(), paras.size(), mb, tokens,
                              double(bytes) / std::max<size_t>(tokens, 1));
                  std::printf("load tokenizer: %.3f s\n", load_s);
                  std::printf("MB/s per wall second | per CPU second (one thread)\n");
                  std::printf("encode, first pass (cold word cache): %.2f | %.2f MB/s\n", mb / cold_s,
                              mb / cold_cpu);
                  std::printf("encode, steady (%d passes): %.2f | %.2f MB/s, %.0f tokens per CPU second\n",
                              passes, mb / warm_s, mb / warm_cpu, tokens / warm_cpu);
                  std::printf("decode (%d passes): %.2f | %.2f MB/s of text out\n", dpasses, mb / dec_s,
                              mb / dec_cpu);
                  return 0;
              });
