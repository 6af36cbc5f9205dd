// A click on anything with data-marker opens that citation (app.py's open_citation).
element.addEventListener('click', (e) => {
  const cite = e.target.closest('[data-marker]');
  if (cite) { e.preventDefault(); trigger('click', {turn: Number(cite.dataset.turn), marker: Number(cite.dataset.marker)}); }
});
