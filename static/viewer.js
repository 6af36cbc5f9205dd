// The passage viewer: scroll the highlighted span into view when the passage changes.
const reveal = () => {
  const mark = element.querySelector('#rg-mark');
  const box = element.querySelector('.rg-viewer-body');
  if (mark && box) box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
};
watch('value', reveal);
