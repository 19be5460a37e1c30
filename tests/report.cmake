# tests/report.cmake - `artistnet report`: HTML/XML validity, no external references, headless
# Chromium screenshot + page text (section titles, every accuracy of every results.json), missing
# pieces, 2 ranks. Needs chromium and xmllint (scripts/setup installs both).
an_script_test(test_report e2e test_report.sh)
