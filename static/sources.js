// The sources panel: keep the active card in view. Runs after cite.js.
watch('value', () => element.querySelector('.rg-card.rg-active')?.scrollIntoView({block: 'nearest'}));
