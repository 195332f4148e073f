// The 打印 buttons (templates/public/_print_button.html): hidden until this script shows them,
// so a page without script never offers a button that does nothing.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
// Folded answers (常见问题) print unfolded: every <details> opens before the page is printed,
// by the button or by the browser's own print command.
window.addEventListener("beforeprint", () => {
  for (const details of document.querySelectorAll("details")) details.open = true;
});
