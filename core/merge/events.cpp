#include "core/merge/events.h"

namespace olm {

const char* stage_name(MergeStage s) {
    switch (s) {
        case MergeStage::loading:
            return "loading";
        case MergeStage::base_select:
            return "base_select";
        case MergeStage::baseline:
            return "baseline";
        case MergeStage::boundary:
            return "boundary";
        case MergeStage::layers:
            return "layers";
        case MergeStage::tensors:
            return "tensors";
        case MergeStage::references:
            return "references";
        case MergeStage::safeguard:
            return "safeguard";
        case MergeStage::exporting:
            return "exporting";
        case MergeStage::done:
            return "done";
    }
    return "?";
}

const char* candidate_status_name(CandidateStatus s) {
    switch (s) {
        case CandidateStatus::evaluated:
            return "evaluated";
        case CandidateStatus::reused_identical:
            return "reused-identical";
        case CandidateStatus::disqualified:
            return "disqualified";
        case CandidateStatus::failed:
            return "failed";
    }
    return "?";
}

std::string PositionId::key() const {
    switch (kind) {
        case Kind::base:
            return "base";
        case Kind::boundary:
            return "boundary";
        case Kind::layer:
            if (window_first >= 0) return std::to_string(window_first) + "-" + std::to_string(window_last);
            return std::to_string(layer);
        case Kind::tensor:
            return layer < 0 ? unit : std::to_string(layer) + "." + unit;
        case Kind::reference:
            return "reference";
    }
    return "?";
}

}  // namespace olm
