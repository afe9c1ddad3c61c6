// Helpers both SDK test pages share: run an SDK call and report "ok" or its failure, and read the remote <video>.
window.call = async (what) => {
  try { await what(); return "ok"; } catch (e) { return "failed: " + (e && e.message ? e.message : e); }
};
window.framesRendered = () => {
  const v = document.getElementById("remote");
  return v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
};
window.videoSize = () => { const v = document.getElementById("remote"); return [v.videoWidth, v.videoHeight]; };
