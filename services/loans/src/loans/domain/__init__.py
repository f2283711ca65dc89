"""Pure loan rules: application states, eligibility, repayment schedules. No I/O."""
