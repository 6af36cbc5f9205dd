// The transcript: example chips fill the question; Copy puts the answer's Markdown on the
// clipboard (execCommand where the Clipboard API is unavailable, e.g. plain http on a LAN
// address); new turns scroll into view. Runs after cite.js.
element.addEventListener('click', async (e) => {
  const ex = e.target.closest('.rg-example');
  if (ex) { e.preventDefault(); trigger('select', {question: ex.dataset.question}); return; }
  const copy = e.target.closest('.rg-copy');
  if (!copy) return;
  const text = copy.parentElement.querySelector('.rg-md').value;
  try { await navigator.clipboard.writeText(text); }
  catch (err) {
    const t = document.createElement('textarea'); t.value = text; document.body.appendChild(t);
    t.select(); document.execCommand('copy'); t.remove();
  }
  copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
});
watch('value', () => { const c = element.querySelector('.rg-chat'); if (c) c.scrollTop = c.scrollHeight; });
