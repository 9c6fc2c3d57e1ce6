#!/usr/bin/env bash
# Synthesizes the verifier with Yosys for AMD/Xilinx UltraScale+
# (synth_xilinx -family xcup) and prints LUT / FF / DSP / BRAM counts for
# the field multiplier alone and for the whole verifier (front end + engine
# + response FIFO). Not part of the test suite: the whole design takes
# several minutes on two cores.
#
#   fpga/synth/run.sh            # both
#   fpga/synth/run.sh fe_mul     # just one top
#   STA=1 fpga/synth/run.sh      # also Yosys's static timing (`sta`) on the
#                                # mapped netlist: cell delays from Yosys's
#                                # Xilinx models, no routing, a rough guide
#
# Logs go to fpga/synth/out/<top>.log (not committed).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
rtl="$here/../rtl"
out="$here/out"
mkdir -p "$out"
command -v yosys >/dev/null || { echo "yosys not found: run deploy/setup.sh" >&2; exit 1; }

sources=(sha512.v sha512_msg.v scalar_reduce.v wide_add.v fe_mul.v rf_bank.v engine.v verify_top.v)
tops=("${@:-fe_mul verify_top}")

summarize() {
    # Totals from the last `stat` of a log: LUTs (logic + LUT RAM), FFs,
    # DSP48E2, BRAM in RAMB36 equivalents.
    awk '
        /Printing statistics/ { lut = 0; lutram = 0; ff = 0; dsp = 0; b36 = 0; b18 = 0 }
        $1 ~ /^LUT[1-6]$/ { lut += $2 }
        $1 ~ /^RAM(32|64|128|256|512)[XM]/ { lutram += $2 }
        $1 ~ /^FD[RSCP]E$/ { ff += $2 }
        $1 == "DSP48E2" { dsp += $2 }
        $1 == "RAMB36E2" { b36 += $2 }
        $1 == "RAMB18E2" { b18 += $2 }
        END { printf "LUT %d (+ %d LUT-RAM cells)  FF %d  DSP48E2 %d  BRAM36 %.1f\n", lut, lutram, ff, dsp, b36 + b18 / 2 }
    ' "$1"
}

cd "$rtl"
for top in ${tops[*]}; do
    start=$(date +%s)
    sta=""
    if [[ "${STA:-0}" == 1 ]]; then
        sta="; read_verilog -lib -specify +/xilinx/cells_sim.v +/xilinx/cells_xtra.v; sta"
    fi
    yosys -q -l "$out/$top.log" -p "read_verilog ${sources[*]}; synth_xilinx -family xcup -top $top -flatten; stat$sta" >/dev/null
    printf '%-12s %s  (%ds)\n' "$top" "$(summarize "$out/$top.log")" "$(( $(date +%s) - start ))"
    if [[ -n "$sta" ]]; then
        grep -m1 'Latest arrival time' "$out/$top.log" | sed 's/^/             /'
    fi
done
