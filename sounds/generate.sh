#!/usr/bin/env bash
# Makes callbox's built-in IVR prompts and music on hold, from prompts.tsv:
#
#   zh-CN/<name>.wav   Mandarin prompts (espeak-ng, Mandarin voice)
#   en/<name>.wav      English prompts (espeak-ng, voice en-us)
#   moh/default.wav    music on hold: about 25 s of soft sine arpeggios, made only
#                      with sox's synthesiser (no third-party audio, no noise)
#   moh/ringback.wav   ringback (450 Hz, 1 s on, 4 s off) and moh/hold_tone.wav,
#                      the agent's tone while a customer keys a PIN
#
# Every file is WAV, 8000 Hz, mono, 16-bit signed PCM, with no metadata. Prompts are
# trimmed of leading and trailing silence and normalised to -3 dBFS peak; the music
# peaks at -12 dBFS and starts and ends at silence, so it loops without a click.
#
# Needs espeak-ng and sox, both from Debian:  apt install espeak-ng sox
# The output is committed with this script, so building and testing callbox do not
# need espeak-ng; run this only after editing prompts.tsv or this script. The same
# inputs and the same espeak-ng/sox versions give the same bytes.
#
# Usage: sounds/generate.sh     (from any directory; writes next to this script)

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tsv="$here/prompts.tsv"

# Debian's espeak-ng 1.51 voice "cmn" reads the pinyin of every character as English
# words ("qian1" becomes "k-eye-an one"); "cmn-latn-pinyin" is the same Mandarin voice
# with working character readings, and it lets the fixes below spell a word in pinyin.
zh_voice=cmn-latn-pinyin
en_voice=en-us
# Speaking rates in words per minute (espeak-ng's default is 175). Numbers are read
# slower: they are often heard one by one (an agent number read back digit by digit).
zh_speed=175
en_speed=160
num_speed=140

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || {
        echo "generate.sh: $tool not found (apt install espeak-ng sox)" >&2
        exit 1
    }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# sox with no dither and no progress output, so that output is repeatable.
sx() { sox -D -V1 --no-show-progress "$@"; }
out_fmt=(-t wav -r 8000 -c 1 -b 16 -e signed-integer --comment "")

# Pronunciation fixes, for synthesis only (prompts.tsv keeps the FAQ wording): '#' is
# read as English "hash", an ASCII comma between characters makes no pause, and the
# dictionary has the wrong reading of a few words.
zh_say() {
    sed -e 's/#号/井号/g' -e 's/#/井号/g' -e 's/,/，/g' \
        -e 's/重新/chong2xin1/g' -e 's/业务/ye4wu4/g' -e 's/服务/fu2wu4/g' <<<"$1"
}

# speak VOICE SPEED TEXT OUT: espeak-ng, then trim (threshold -60 dBFS, well under the
# quietest consonant), resample to 8 kHz, normalise, and keep 20 ms of silence at
# each end so a phone's first packet does not clip the first sound.
speak() {
    local raw="$tmp/raw.wav"
    espeak-ng -v "$1" -s "$2" -w "$raw" -- "$3"
    sx "$raw" "${out_fmt[@]}" "$4" \
        silence 1 0.005 0.1% reverse silence 1 0.005 0.1% reverse \
        rate -v 8000 gain -n -3 pad 0.02 0.02
}

mkdir -p "$here/zh-CN" "$here/en" "$here/moh"
count=0
while IFS=$'\t' read -r name zh en; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    if [[ ! "$name" =~ ^[a-z0-9_]+$ || -z "$zh" || -z "$en" ]]; then
        echo "generate.sh: bad line in prompts.tsv: $name" >&2
        exit 1
    fi
    zs=$zh_speed es=$en_speed
    [[ "$name" == num_* ]] && zs=$num_speed es=$num_speed
    speak "$zh_voice" "$zs" "$(zh_say "$zh")" "$here/zh-CN/$name.wav"
    speak "$en_voice" "$es" "$en" "$here/en/$name.wav"
    count=$((count + 1))
done <"$tsv"

# Music on hold: 8 bars of 3 s (Cmaj7 Am7 Fmaj7 G | Em7 Am7 Dm7 G), each a soft
# bass note, a quiet sustained chord and a six-note arpeggio of bell-like sines
# (30 ms attack, quadratic decay), then a 1 s tail that fades to silence; the last
# bar's G leads back to the first bar's C when the file loops.
bar=3
chords=( # MIDI notes: bass, then the four chord tones the arpeggio uses
    "48 60 64 67 71" # Cmaj7
    "45 57 60 64 67" # Am7
    "41 57 60 64 65" # Fmaj7
    "43 55 59 62 67" # G
    "40 55 59 62 64" # Em7
    "45 57 60 64 67" # Am7
    "38 57 60 62 65" # Dm7
    "43 55 59 62 67" # G
)
# Played an octave above where they are written, in the band a phone reproduces.
hz() { awk -v n="$1" 'BEGIN { printf "%.2f", 440 * 2 ^ ((n + 12 - 69) / 12) }'; }
# tone FILE START LENGTH FREQ VOLUME FADE...: a sine at START seconds
tone() {
    local file=$1 start=$2 len=$3 f=$4 vol=$5
    shift 5
    sx -n -r 8000 -c 1 -b 16 "$file" synth "$len" sine "$f" vol "$vol" "$@" pad "$start"
}
parts=()
i=0
for chord in "${chords[@]}"; do
    read -r bass a b c d <<<"$chord"
    t0=$((i * bar))
    n=${#parts[@]}
    tone "$tmp/m$n.wav" "$t0" 3.4 "$(hz "$bass")" 0.9 fade q 0.1 3.4 1.6
    parts+=("$tmp/m$n.wav")
    for note in "$b" "$c"; do
        n=${#parts[@]}
        tone "$tmp/m$n.wav" "$t0" 3.2 "$(hz "$note")" 0.25 fade h 0.8 3.2 1.4
        parts+=("$tmp/m$n.wav")
    done
    step=0
    for note in "$a" "$b" "$c" "$d" $((a + 12)) "$c"; do
        n=${#parts[@]}
        start=$(awk -v t="$t0" -v s="$step" 'BEGIN { printf "%.2f", t + s * 0.5 }')
        tone "$tmp/m$n.wav" "$start" 1.8 "$(hz "$note")" 0.6 \
            fade h 0.03 1.8 1.77 fade t 0 1.8 1.8
        parts+=("$tmp/m$n.wav")
        step=$((step + 1))
    done
    i=$((i + 1))
done
total=$((${#chords[@]} * bar + 1))
sx -m "${parts[@]}" "${out_fmt[@]}" "$here/moh/default.wav" \
    trim 0 "$total" fade t 0 "$total" 0.8 gain -n -12

# Tones, the same in every language: ringback as Chinese exchanges play it (450 Hz,
# 1 s on, 4 s off; heard by an agent whose click-to-call or consult is ringing), and
# the hold tone an agent hears while the customer keys a PIN (a short 440 Hz pip
# every 3 s). Both loop.
sx -n -r 8000 -c 1 -b 16 "$tmp/ring.wav" synth 1 sine 450 vol 0.5 fade t 0.01 1 0.01
sx "$tmp/ring.wav" "${out_fmt[@]}" "$here/moh/ringback.wav" pad 0 4
sx -n -r 8000 -c 1 -b 16 "$tmp/pip.wav" synth 0.25 sine 440 vol 0.4 fade t 0.01 0.25 0.02
sx "$tmp/pip.wav" "${out_fmt[@]}" "$here/moh/hold_tone.wav" pad 0 2.75

echo "generate.sh: $count prompts in zh-CN/ and en/, moh/default.wav, and the tones"
