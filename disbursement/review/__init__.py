"""Review: the rounds of QĐ 79 mục II.3.1 over trusted plan lines (pure)."""
