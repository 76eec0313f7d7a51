// A read confirmed without looking at the screen: a short high beep and a buzz when it is
// recorded, a low double tone and a double buzz when it is not.

let audio = null;

function tone(frequency, ms, at = 0) {
  try {
    audio ||= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    const start = audio.currentTime + at / 1000;
    osc.start(start);
    osc.stop(start + ms / 1000);
  } catch {
    // no audio: the vibration and the screen still say it
  }
}

// Call once from a tap (browsers only allow sound after one).
export function unlock() {
  tone(1, 1);
}

export function ok() {
  if (navigator.vibrate) navigator.vibrate(60);
  tone(1320, 90);
}

export function fail() {
  if (navigator.vibrate) navigator.vibrate([120, 80, 120]);
  tone(220, 180);
  tone(180, 220, 230);
}
