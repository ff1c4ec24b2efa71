#!/usr/bin/env bash
# Debian packages the test suite drives for real: a GStreamer RTSP server, headless Chromium, an
# MQTT broker (mosquitto, for the event outputs), Redis (cluster mode and the job queue) and
# Debian's ffmpeg (the decoder streamlens picks over the bundled 2018 build; tests run both).
# Runs as root (CI) or through sudo.
set -euo pipefail
packages=(
  chromium
  ffmpeg
  fonts-dejavu-core
  python3-gi
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  mosquitto
  redis-server
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
