{
    name: 'Contractor-Onboarding',
    props: ['processDefinition', 'taskDefinition', 'variables', 'isTask'],
    data() {
        return {
            userName: '', givenName: '', sn: '', department: '', jobTitle: '',
            telephoneNumber: '', mail: '', startDate: '', endDate: '', description: '',
            provisionToCSV: false, decision: ''
        };
    },
    methods: {
        submit() {
            const fields = this.isTask
                ? { decision: this.decision }
                : { userName: this.userName, givenName: this.givenName, sn: this.sn,
                    department: this.department, jobTitle: this.jobTitle,
                    telephoneNumber: this.telephoneNumber, mail: this.mail,
                    startDate: this.startDate, endDate: this.endDate,
                    description: this.description, provisionToCSV: this.provisionToCSV };
            this.$emit('submit', fields);
        }
    },
    template: `
      <form @submit.prevent="submit">
        <template v-if="isTask">
          <p>{{ variables.requestSummary }}</p>
          <select v-model="decision" required>
            <option value="accept">Accept</option>
            <option value="reject">Reject</option>
          </select>
        </template>
        <template v-else>
          <input v-model="userName" placeholder="Username" required>
          <input v-model="givenName" placeholder="First Name" required>
          <input v-model="sn" placeholder="Last Name" required>
          <input v-model="mail" type="email" placeholder="Email" required>
          <input v-model="startDate" type="date" required>
          <textarea v-model="description" placeholder="Description" required></textarea>
        </template>
        <button type="submit">Submit</button>
      </form>`
}
